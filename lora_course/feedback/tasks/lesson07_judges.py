"""Grader side of lesson 07's task checks, DoRA, PiSSA and LoRA+: each judge recomputes the package's reference
from the inputs and names the mistake it finds (the collect side is ``lesson07``)."""

from __future__ import annotations

import numpy as np

from lora_course.feedback.tasks.common import Outcome, array, fail, same, unchanged

FROZEN_HINT = "W0, A, B and the gradients are inputs: compute new arrays, never write into them"
NONE, TUPLE, PARTIAL = "returned None:", "returned a tuple:", "raised on a partial block:"   # flags in collected data

def returned(data: dict) -> None:
    """Fail with the mistake named if the student's function returned None or a tuple where one array is due."""
    for key in data:
        if isinstance(key, str) and key.startswith(NONE):
            fail(f"{key[len(NONE):]} returned None", "a return statement is missing: end the function with "
                 "`return ...` (a function without one gives None)")
        if isinstance(key, str) and key.startswith(TUPLE):
            fail(f"{key[len(TUPLE):]} returned a tuple of {np.size(data[key])} values; one array is expected",
                 "return the one result array, not a tuple (a trailing comma after `return x` also makes one)")


def precise(name: str, got: np.ndarray, want: np.ndarray) -> None:
    """Fail if ``got`` is right only to about float32 precision: float32 arithmetic or an epsilon somewhere."""
    if got.shape == want.shape and not np.allclose(got, want, rtol=1e-10, atol=1e-12) and np.allclose(
            got, want, rtol=1e-5, atol=1e-6):
        fail(f"{name}: right only to {float(np.max(np.abs(got - want))):.1g}, not to float64 precision",
             "compute in float64 (no .astype(np.float32)) and add no epsilon to a denominator: these results are "
             "compared to about 1e-10, as the package is against PEFT")


def judge_dora(data: dict, inputs: dict) -> Outcome:
    from lora_course.dora import dora_magnitude, dora_weight

    W0, A, B, m = (np.asarray(inputs[key], float) for key in ("W0", "A", "B", "m"))
    s = float(inputs["scale"])
    for name, before in (("W0", W0), ("A", A), ("B", B), ("m", m)):
        unchanged(name, before, array(data, f"{name}_after"), FROZEN_HINT)
    returned(data)
    m_got = array(data, "m")
    if m_got.shape in ((W0.shape[0], 1), (1, W0.shape[0])):
        fail(f"m has shape {m_got.shape}; expected a vector of shape ({W0.shape[0]},)",
             "no keepdims here: m = np.linalg.norm(W0, axis=1) is one number per row, shape (d,)")
    rows, cols = np.linalg.norm(W0, axis=1), np.linalg.norm(W0, axis=0)
    if m_got.shape == cols.shape and np.allclose(m_got, cols):
        fail(f"m has shape {m_got.shape}: one norm per column of W0 (d, k), i.e. per input feature",
             "the paper's column norm is one norm per OUTPUT feature; here W0 is (d, k) with h = W0 x, so that "
             "is each row: np.linalg.norm(W0, axis=1), shape (d,)")
    precise("m", m_got, dora_magnitude(W0))
    same("m", m_got, dora_magnitude(W0), "m = np.linalg.norm(W0, axis=1): one norm per output feature (row)",
         atol=1e-10, variants={
             "m is not initialised from W0: start it at the row norms of W0, so that the layer starts at W0":
                 np.ones_like(rows),
             "m holds squared norms: take the square root (np.linalg.norm)": rows**2,
             "m is one Frobenius norm of the whole W0 repeated: take one norm per row":
                 np.full_like(rows, np.linalg.norm(W0)),
         })
    V = W0 + s * B @ A                                                     # (d, k)
    nr = np.linalg.norm(V, axis=1, keepdims=True)                          # (d, 1)
    variants = {
        "the norm runs over the wrong axis: divide each ROW of V (one output feature) by its norm, "
        "axis=1, not by the column norms (axis=0)": m[:, None] * V / np.linalg.norm(V, axis=0, keepdims=True),
        "you normalised W0 alone: the norm must be that of V = W0 + scale B A, recomputed as B A changes":
            m[:, None] * V / np.linalg.norm(W0, axis=1, keepdims=True),
        f"the scale is missing: V = W0 + scale B A (scale = {s:g})":
            m[:, None] * (W0 + B @ A) / np.linalg.norm(W0 + B @ A, axis=1, keepdims=True),
        "the magnitude m is missing: W' = m * V / ||V||": V / nr,
        "V is not normalised: divide each row of V by its norm before multiplying by m": m[:, None] * V,
        "divide by the norm, not by the squared norm": m[:, None] * V / nr**2,
        "V is divided by its one Frobenius norm: divide each ROW by its own norm (axis=1, keepdims=True)":
            m[:, None] * V / np.linalg.norm(V),
        "the magnitude argument m is ignored (you used ||W0||_row): multiply by the m you are given, which is "
        "trained": np.linalg.norm(W0, axis=1, keepdims=True) * V / nr,
        "the scale multiplies the whole result; it belongs inside V = W0 + scale B A":
            s * m[:, None] * (W0 + B @ A) / np.linalg.norm(W0 + B @ A, axis=1, keepdims=True),
    }
    precise("W", array(data, "W"), dora_weight(W0, A, B, m, s))
    same("W", array(data, "W"), dora_weight(W0, A, B, m, s), "W' = m[:, None] * V / ||V||_row with "
         "V = W0 + scale B A, shape (d, k)", atol=1e-10, variants=variants)
    start = array(data, "W_start")
    if start.shape != W0.shape or not np.allclose(start, W0, rtol=0, atol=1e-12):
        fail("with B = 0 and m from your dora_magnitude_init, the merged weight is not W0",
             "at step 0 DoRA must be the frozen layer exactly: m = ||W0||_row and V = W0")
    return Outcome(True, "m = ||W0||_row, W' = m V / ||V||_row, and at B = 0 the layer is W0 exactly")


def judge_pissa(data: dict, inputs: dict) -> Outcome:
    from lora_course.pissa import canonical_signs, pissa_init

    W0, r, s = np.asarray(inputs["W0_svd"], float), int(inputs["r"]), float(inputs["scale"])
    unchanged("W0", W0, array(data, "W0_after"), FROZEN_HINT)
    A_ref, B_ref, res_ref = pissa_init(W0, r, s)
    returned(data)
    A, B, W_res = array(data, "A"), array(data, "B"), array(data, "W_res")
    if A.shape == B_ref.shape and B.shape == A_ref.shape:
        fail(f"A has shape {A.shape} and B {B.shape}: A and B come back in the wrong order",
             "return (A, B, W_res): A (r, k) first, then B (d, r)")
    if A.shape == A_ref.shape[::-1] or B.shape == B_ref.shape[::-1]:
        fail(f"A has shape {A.shape} and B {B.shape}: one of them is transposed",
             f"A must be (r, k) = {A_ref.shape} and B (d, r) = {B_ref.shape}")
    if A.ndim == 2 and B.ndim == 2 and A.shape[0] == B.shape[1] != r:
        fail(f"A and B have {A.shape[0]} rank directions; r = {r}",
             "take exactly the first r singular triplets: U[:, :r], S[:r], Vt[:r]")
    if A.shape == (r, W0.shape[0]) or B.shape == (W0.shape[1], r):
        fail(f"A has shape {A.shape} and B {B.shape}: U and V are swapped",
             "A (r, k) comes from the rows of V^T (input side), B (d, r) from the columns of U (output side)")
    for name, got, want, how in (("A", A, A_ref, "sqrt(S_r / scale)[:, None] * Vt[:r]"), ("W_res", W_res, W0,
                                 "W0 - scale B A"), ("B", B, B_ref, "U[:, :r] * sqrt(S_r / scale)")):
        if got.shape != want.shape:
            fail(f"{name}: expected shape {want.shape}, got {got.shape}", f"{name} = {how}")
    U, S, Vt = np.linalg.svd(W0, full_matrices=False)
    top = (U[:, :r] * S[:r]) @ Vt[:r]                                       # best rank-r part
    low = (U[:, -r:] * S[-r:]) @ Vt[-r:]
    product = s * B @ A
    if np.allclose(product, low, atol=1e-8):
        fail("scale B A is the rank-r part of the SMALLEST singular values",
             "np.linalg.svd sorts S in decreasing order: take the first r triplets, U[:, :r], S[:r], Vt[:r]")
    if np.allclose(product, s * top, atol=1e-8):
        fail(f"scale B A is {s:g} times the top rank-r part of W0",
             "divide S_r by scale before the square roots, so that scale B A = U_r S_r V_r^T")
    precise("scale B A", product, top)
    ratio = float(np.sum(product * top) / np.sum(top * top))
    if not np.isclose(ratio, 1.0) and np.allclose(product, ratio * top, atol=1e-8):
        fail(f"scale B A is {ratio:.4g} times W0's top rank-r part U_r S_r V_r^T",
             "each factor carries sqrt(S_r / scale): divide S_r by scale INSIDE the square root, so that "
             "scale B A = U_r S_r V_r^T exactly")
    if not np.allclose(product, top, atol=1e-8):
        A_c, B_c = canonical_signs(A, B)
        if np.allclose(np.abs(A_c), np.abs(A_ref), atol=1e-8) and np.allclose(np.abs(B_c), np.abs(B_ref), atol=1e-8):
            fail("a singular direction has its sign flipped in A but not in B (or the reverse)",
                 "flip u_i and v_i together or not at all: take A and B from the same U, S, Vt")
        fail("scale B A is not W0's best rank-r approximation U_r S_r V_r^T",
             "A = sqrt(S_r / scale) V_r^T and B = U_r sqrt(S_r / scale) from the top r singular triplets")
    A_c, B_c = canonical_signs(A, B)
    if not (np.allclose(A_c, A_ref, atol=1e-8) and np.allclose(B_c, B_ref, atol=1e-8)):
        root = np.sqrt(S[:r] / s)
        A_v, _ = canonical_signs(Vt[:r], U[:, :r] * S[:r] / s)
        if np.allclose(A_c, A_v, atol=1e-8):
            fail("all of S_r / scale went into B and none into A",
                 "split the singular values evenly: sqrt(S_r / scale) into each factor, as the paper and PEFT do")
        _, B_u = canonical_signs((S[:r] / s)[:, None] * Vt[:r], U[:, :r])
        if np.allclose(B_c, B_u, atol=1e-8):
            fail("all of S_r / scale went into A and none into B",
                 "split the singular values evenly: sqrt(S_r / scale) into each factor, as the paper and PEFT do")
        fail("B A is right but the singular values are not split evenly between A and B",
             f"A = sqrt(S_r / scale)[:, None] * Vt[:r], B = U[:, :r] * sqrt(S_r / scale) (here {root.round(3)})")
    precise("W_res", W_res, res_ref)
    same("W_res", W_res, res_ref, "W_res = W0 - scale B A: W0 minus its top rank-r part", atol=1e-8, variants={
        "PiSSA without the residual: W_res must be W0 - scale B A, or the layer starts at W0 + scale B A": W0,
        "the residual has the wrong sign: W_res = W0 - scale B A": W0 + product,
        f"the residual forgot the scale: W_res = W0 - scale B A (scale = {s:g})": W0 - B @ A,
        "W_res is the top rank-r part; it should be what is left: W0 minus it": product,
    })
    return Outcome(True, "A, B from the top r singular triplets with sqrt(S_r / scale) each, W_res = W0 - scale B A")


def judge_loraplus(data: dict, inputs: dict) -> Outcome:
    from lora_course.loraplus import loraplus_sgd_step

    A, B, dA, dB = (np.asarray(inputs[key], float) for key in ("A", "B", "dA", "dB"))
    lr, ratio = float(inputs["lr"]), float(inputs["ratio"])
    for name, before in (("A", A), ("B", B)):
        unchanged(name, before, array(data, f"{name}_after"), FROZEN_HINT)
    returned(data)
    A_want, B_want = loraplus_sgd_step(A, B, dA, dB, lr, ratio)
    A_got, B_got = array(data, "A_new"), array(data, "B_new")
    if A_got.shape == A.shape and np.allclose(A_got, -lr * dA):
        fail("A_new is the step -lr * dA alone", "return the new values: A_new = A - lr * dA (and B - ratio lr dB)")
    precise("A_new", A_got, A_want)
    precise("B_new", B_got, B_want)
    if A_got.shape == B_want.shape and B_got.shape == A_want.shape and A_want.shape != B_want.shape:
        fail("the two results come back swapped", "return (A_new, B_new) in that order")
    same("A_new", A_got, A_want, "A_new = A - lr * dA: A keeps the base learning rate", atol=1e-12, variants={
        f"the ratio went to A: A learns at lr (not ratio * lr = {ratio * lr:g}); the larger rate is B's":
            A - ratio * lr * dA,
        "the step goes uphill: subtract lr * dA": A + lr * dA,
        "A was not updated: A_new = A - lr * dA": A,
        "A's rate is divided by the ratio: A keeps the base rate lr, only B's is multiplied": A - lr / ratio * dA,
    })
    same("B_new", B_got, B_want, "B_new = B - ratio * lr * dB", atol=1e-12, variants={
        "the ratio is missing: B learns at ratio * lr": B - lr * dB,
        "B's rate is divided by the ratio; LoRA+ multiplies it: B - ratio * lr * dB": B - lr / ratio * dB,
        "the ratio is applied twice: B - ratio * lr * dB": B - ratio**2 * lr * dB,
        "the step goes uphill: subtract ratio * lr * dB": B + ratio * lr * dB,
    })
    return Outcome(True, "A moves at lr, B at ratio * lr, and no input was modified")
