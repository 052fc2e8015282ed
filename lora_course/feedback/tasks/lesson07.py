"""Checks of lesson 07's implement-it tasks: DoRA, PiSSA, LoRA+ and QLoRA's NF4 base.

The student writes (names in the notebook; W0 is (d, k) with h = W0 x, so one output feature is one row):

    dora_magnitude_init(W0) -> m                          m (d,) = the norm of each row of W0
    dora_merged_weight(W0, A, B, m, scale) -> W           W (d, k) = m * V / ||V||_row, V = W0 + scale B A
    pissa_factors(W0, r, scale) -> (A, B, W_res)          A = sqrt(S_r / scale) V_r^T, B = U_r sqrt(S_r / scale)
    loraplus_sgd_step(A, B, dA, dB, lr, ratio) -> (A, B)  A - lr dA, B - ratio lr dB
    normal_float_levels() -> levels                       the 16 NF4 levels, sorted, -1 .. 1 with an exact 0
    nf4_quantize(W, levels, block) -> (codes, absmax)     nearest level of w / absmax, per block of 64
    nf4_dequantize(codes, absmax, levels, shape, block)   levels[codes] * absmax, reshaped

The collect side only calls the student's functions (numpy alone); the judges import the package's reference.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from lora_course.feedback.tasks.common import (
    Check,
    Outcome,
    array,
    check_seed,
    check_table,
    fail,
    floats,
    get,
    lesson_runners,
    parts,
    same,
    unchanged,
)

FROZEN_HINT = "W0, A, B and the gradients are inputs: compute new arrays, never write into them"
NF4_TABLE = (  # the published NF4 table (QLoRA, Appendix E), handed to the quantisation tasks
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
    -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
    0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
)


def make_inputs(seed: int) -> dict:
    """Inputs of the checks, drawn from ``seed``. d = 5 != k = 7, so a norm over the wrong axis has the wrong
    shape; scale = 2, so a forgotten scale shows; block = 8 on a (6, 12) weight gives 9 blocks."""
    rng, (d, k, r) = np.random.default_rng([check_seed(seed), 7]), (5, 7, 2)
    (U, _), (V, _) = np.linalg.qr(rng.normal(size=(d, d))), np.linalg.qr(rng.normal(size=(k, k)))
    S = np.array([5.0, 3.0, 2.0, 1.0, 0.5])                          # well separated singular values
    return {"seed": int(seed), "scale": 2.0, "r": r, "offset": 0.99,
            "W0": rng.normal(size=(d, k)), "A": rng.normal(size=(r, k)), "B": rng.normal(size=(d, r)),
            "m": rng.uniform(0.5, 2.0, size=d), "W0_svd": (U * S) @ V[:, :d].T,
            "dA": rng.normal(size=(r, k)), "dB": rng.normal(size=(d, r)), "lr": 0.1, "ratio": 4.0,
            "W_q": rng.normal(size=(6, 12)), "block": 8, "levels": np.array(NF4_TABLE),
            "codes": rng.integers(0, 16, size=72), "absmax": rng.uniform(0.5, 3.0, size=9)}


# ----------------------------------------------------------------------------- student side (collect)

def _collect_dora(ns: dict, inputs: dict) -> dict:
    W0, A, B, m = (floats(inputs[key]) for key in ("W0", "A", "B", "m"))
    magnitude = get(ns, "dora_magnitude_init")(W0)
    merged = get(ns, "dora_merged_weight")
    W = merged(W0, A, B, m, float(inputs["scale"]))
    data = {"m": floats(magnitude), "W": floats(W), "W0_after": floats(W0), "A_after": floats(A),
            "B_after": floats(B), "m_after": floats(m)}
    if data["m"].shape == (W0.shape[0],):                   # the start from the student's own m, where it fits
        data["W_start"] = floats(merged(floats(inputs["W0"]), A, np.zeros_like(B), data["m"], float(inputs["scale"])))
    return data


def _collect_pissa(ns: dict, inputs: dict) -> dict:
    W0 = floats(inputs["W0_svd"])
    A, B, W_res = parts(get(ns, "pissa_factors")(W0, int(inputs["r"]), float(inputs["scale"])), 3, "pissa_factors")
    return {"A": floats(A), "B": floats(B), "W_res": floats(W_res), "W0_after": floats(W0)}


def _collect_loraplus(ns: dict, inputs: dict) -> dict:
    A, B, dA, dB = (floats(inputs[key]) for key in ("A", "B", "dA", "dB"))
    A_new, B_new = parts(get(ns, "loraplus_sgd_step")(A, B, dA, dB, float(inputs["lr"]), float(inputs["ratio"])),
                         2, "loraplus_sgd_step")
    return {"A_new": floats(A_new), "B_new": floats(B_new), "A_after": floats(A), "B_after": floats(B)}


def _collect_levels(ns: dict, inputs: dict) -> dict:
    levels = get(ns, "normal_float_levels")
    return {"levels": floats(levels()), "levels_other": floats(levels(offset=float(inputs["offset"])))}


def _collect_quantize(ns: dict, inputs: dict) -> dict:
    W, levels = floats(inputs["W_q"]), floats(inputs["levels"])
    codes, absmax = parts(get(ns, "nf4_quantize")(W, levels, int(inputs["block"])), 2, "nf4_quantize")
    return {"codes": floats(codes), "absmax": floats(absmax), "W_after": floats(W)}


def _collect_dequantize(ns: dict, inputs: dict) -> dict:
    codes, absmax, levels = np.array(inputs["codes"]), floats(inputs["absmax"]), floats(inputs["levels"])
    W = get(ns, "nf4_dequantize")(codes, absmax, levels, (6, 12), int(inputs["block"]))
    return {"W": floats(W)}


# ---------------------------------------------------------------------------------- grader side (judge)

def _judge_dora(data: dict, inputs: dict) -> Outcome:
    from lora_course.dora import dora_magnitude, dora_weight

    W0, A, B, m = (np.asarray(inputs[key], float) for key in ("W0", "A", "B", "m"))
    s = float(inputs["scale"])
    for name, before in (("W0", W0), ("A", A), ("B", B), ("m", m)):
        unchanged(name, before, array(data, f"{name}_after"), FROZEN_HINT)
    m_got = array(data, "m")
    rows, cols = np.linalg.norm(W0, axis=1), np.linalg.norm(W0, axis=0)
    if m_got.shape == cols.shape and np.allclose(m_got, cols):
        fail(f"m has shape {m_got.shape}: one norm per column of W0 (d, k), i.e. per input feature",
             "the paper's column norm is one norm per OUTPUT feature; here W0 is (d, k) with h = W0 x, so that "
             "is each row: np.linalg.norm(W0, axis=1), shape (d,)")
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
    }
    same("W", array(data, "W"), dora_weight(W0, A, B, m, s), "W' = m[:, None] * V / ||V||_row with "
         "V = W0 + scale B A, shape (d, k)", atol=1e-10, variants=variants)
    start = array(data, "W_start")
    if start.shape != W0.shape or not np.allclose(start, W0, rtol=0, atol=1e-12):
        fail("with B = 0 and m from your dora_magnitude_init, the merged weight is not W0",
             "at step 0 DoRA must be the frozen layer exactly: m = ||W0||_row and V = W0")
    return Outcome(True, "m = ||W0||_row, W' = m V / ||V||_row, and at B = 0 the layer is W0 exactly")


def _judge_pissa(data: dict, inputs: dict) -> Outcome:
    from lora_course.pissa import canonical_signs, pissa_init

    W0, r, s = np.asarray(inputs["W0_svd"], float), int(inputs["r"]), float(inputs["scale"])
    unchanged("W0", W0, array(data, "W0_after"), FROZEN_HINT)
    A_ref, B_ref, res_ref = pissa_init(W0, r, s)
    A, B, W_res = array(data, "A"), array(data, "B"), array(data, "W_res")
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
    if not np.allclose(product, top, atol=1e-8):
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
    same("W_res", W_res, res_ref, "W_res = W0 - scale B A: W0 minus its top rank-r part", atol=1e-8, variants={
        "PiSSA without the residual: W_res must be W0 - scale B A, or the layer starts at W0 + scale B A": W0,
        "the residual has the wrong sign: W_res = W0 - scale B A": W0 + product,
        f"the residual forgot the scale: W_res = W0 - scale B A (scale = {s:g})": W0 - B @ A,
        "W_res is the top rank-r part; it should be what is left: W0 minus it": product,
    })
    return Outcome(True, "A, B from the top r singular triplets with sqrt(S_r / scale) each, W_res = W0 - scale B A")


def _judge_loraplus(data: dict, inputs: dict) -> Outcome:
    from lora_course.loraplus import loraplus_sgd_step

    A, B, dA, dB = (np.asarray(inputs[key], float) for key in ("A", "B", "dA", "dB"))
    lr, ratio = float(inputs["lr"]), float(inputs["ratio"])
    for name, before in (("A", A), ("B", B)):
        unchanged(name, before, array(data, f"{name}_after"), FROZEN_HINT)
    A_want, B_want = loraplus_sgd_step(A, B, dA, dB, lr, ratio)
    A_got, B_got = array(data, "A_new"), array(data, "B_new")
    if A_got.shape == B_want.shape and B_got.shape == A_want.shape and A_want.shape != B_want.shape:
        fail("the two results come back swapped", "return (A_new, B_new) in that order")
    same("A_new", A_got, A_want, "A_new = A - lr * dA: A keeps the base learning rate", atol=1e-12, variants={
        f"the ratio went to A: A learns at lr (not ratio * lr = {ratio * lr:g}); the larger rate is B's":
            A - ratio * lr * dA,
        "the step goes uphill: subtract lr * dA": A + lr * dA,
        "A was not updated: A_new = A - lr * dA": A,
    })
    same("B_new", B_got, B_want, "B_new = B - ratio * lr * dB", atol=1e-12, variants={
        "the ratio is missing: B learns at ratio * lr": B - lr * dB,
        "B's rate is divided by the ratio; LoRA+ multiplies it: B - ratio * lr * dB": B - lr / ratio * dB,
        "the ratio is applied twice: B - ratio * lr * dB": B - ratio**2 * lr * dB,
        "the step goes uphill: subtract ratio * lr * dB": B + ratio * lr * dB,
    })
    return Outcome(True, "A moves at lr, B at ratio * lr, and no input was modified")


def _judge_levels(data: dict, inputs: dict) -> Outcome:
    from lora_course.nf4 import nf4_levels

    want, got = nf4_levels(), array(data, "levels", "a quantile at probability 0 or 1 is infinite")
    ppf = NormalDist().inv_cdf
    if got.shape == (16,) and np.allclose(np.sort(got), want, atol=1e-6) and not np.allclose(got, want, atol=1e-6):
        fail("the right 16 values in the wrong order", "sort the levels in increasing order (np.sort)")
    equal_bins = np.array([ppf((i + 0.5) / 16) for i in range(16)])
    variants = {
        "NF4 levels from a uniform grid: the levels are quantiles of N(0, 1), dense near 0 and sparse in the tails":
            np.linspace(-1, 1, 16),
        "16 symmetric quantiles have no exact 0: take 8 positive and 7 negative quantiles plus 0 (asymmetric)":
            equal_bins / equal_bins.max(),
        "the asymmetry is the wrong way round: 8 quantiles go to the POSITIVE side and 7 to the negative":
            -want[::-1],
        "a uniform 4-bit grid with 0 at an end: NF4 is signed and normal-shaped": np.linspace(0, 1, 16),
    }
    same("levels", got, want, "8 positive quantiles Phi^-1(linspace(offset, 0.5, 9)[:-1]), 7 negative ones, "
         "0, sorted and divided by the largest (offset = 0.9677083)", atol=1e-6, variants=variants,
         factors={"divide by the largest level, so that the levels run from -1 to 1": ppf(0.9677083)})
    same("levels with another offset", array(data, "levels_other"), nf4_levels(float(inputs["offset"])),
         "compute the levels from the offset argument (a typed-in table answers one offset only)", atol=1e-6)
    return Outcome(True, "the 16 NF4 levels: quantiles of N(0, 1), an exact 0, from -1 to 1")


def _judge_quantize(data: dict, inputs: dict) -> Outcome:
    from lora_course.nf4 import quantize_blockwise

    W, levels, block = np.asarray(inputs["W_q"], float), np.asarray(inputs["levels"], float), int(inputs["block"])
    unchanged("W", W, array(data, "W_after"), "W is an input: never write into it")
    codes_want, absmax_want = quantize_blockwise(W, levels, block)
    codes, absmax = array(data, "codes"), array(data, "absmax")
    if absmax.size == 1 and absmax_want.size > 1:
        fail(f"one absmax for the whole weight; expected one per block of {block} ({absmax_want.size} blocks)",
             "split the flattened weight into blocks of `block` consecutive entries and take each block's absmax")
    if absmax.shape == absmax_want.shape and np.allclose(absmax, np.max(W.reshape(-1, block), axis=1)):
        fail("absmax is the signed maximum of each block", "take the largest ABSOLUTE value: np.abs(block).max()")
    col_blocks = np.max(np.abs(W.T.reshape(-1, block)), axis=1)
    if absmax.shape == absmax_want.shape and np.allclose(absmax, col_blocks):
        fail("the blocks run down the columns", "flatten row-major (W.ravel()) and cut consecutive blocks")
    same("absmax", absmax, absmax_want, f"one absmax per block of {block} consecutive entries (row-major)",
         atol=1e-6)
    scaled = W.reshape(-1, block) / absmax_want[:, None].astype(float)
    below = np.clip(np.searchsorted(levels, scaled, side="right") - 1, 0, levels.size - 1).ravel()
    unscaled = np.argmin(np.abs(W.reshape(-1, 1) - levels), axis=1)
    uniform = np.argmin(np.abs(scaled.reshape(-1, 1) - np.linspace(-1, 1, 16)), axis=1)
    same("codes", codes, codes_want, "codes = argmin |w / absmax - levels|: the index of the nearest level",
         atol=0.5, variants={
             "rounding down: take the NEAREST level, not the largest one below": below,
             "divide each entry by its block's absmax before finding the nearest level": unscaled,
             "levels from a uniform grid: use the NF4 levels you were given": uniform,
         }, expected="the nearest-level codes")
    return Outcome(True, "per-block absmax and nearest-level codes, as bitsandbytes' NF4 stores them")


def _judge_dequantize(data: dict, inputs: dict) -> Outcome:
    from lora_course.nf4 import dequantize_blockwise

    codes, absmax = np.asarray(inputs["codes"]), np.asarray(inputs["absmax"], float)
    levels, block = np.asarray(inputs["levels"], float), int(inputs["block"])
    want = dequantize_blockwise(codes, absmax, levels, (6, 12), block)
    per_block = np.repeat(absmax, block)
    same("W", array(data, "W"), want, "W = levels[codes] * absmax of each block, reshaped to shape", atol=1e-10,
         variants={
             "the block's absmax is missing: multiply levels[codes] by it": levels[codes].reshape(6, 12),
             "the codes index a uniform grid: look them up in levels":
                 ((codes / 15 * 2 - 1) * per_block).reshape(6, 12),
             "np.tile repeats the whole absmax vector; each block's absmax must repeat `block` times (np.repeat)":
                 (levels[codes] * np.tile(absmax, block)[:72]).reshape(6, 12),
             "the result is filled column by column: reshape in row-major (C) order":
                 (levels[codes] * per_block[:72]).reshape((6, 12), order="F"),
             "the absmax is applied per column, not per block of consecutive entries":
                 (levels[codes].reshape(6, 12).T * np.repeat(absmax, block)[:72].reshape(12, 6)).T,
         })
    return Outcome(True, "levels[codes] times each block's absmax, in the weight's shape")


CHECKS: dict[str, Check] = check_table((
    Check("dora", "m = ||W0||_row and W' = m V / ||V||_row", _collect_dora, _judge_dora),
    Check("pissa", "A, B from the top singular triplets, W_res = W0 - scale B A", _collect_pissa, _judge_pissa),
    Check("loraplus", "A at lr, B at ratio * lr", _collect_loraplus, _judge_loraplus),
    Check("nf4_levels", "the 16 NormalFloat levels", _collect_levels, _judge_levels),
    Check("nf4_quantize", "block-wise absmax and nearest-level codes", _collect_quantize, _judge_quantize),
    Check("nf4_dequantize", "levels[codes] * absmax", _collect_dequantize, _judge_dequantize),
), {
    "dora": (('dora_magnitude_init', 'dora_merged_weight'),
             ('lora_course.dora.dora_magnitude', 'lora_course.dora.dora_weight', 'lora_course.dora.dora_forward')),
    "pissa": (('pissa_factors',),
              ('lora_course.pissa.pissa_init', 'lora_course.lowrank.factorize', 'lora_course.lowrank.best_rank_r')),
    "loraplus": (('loraplus_sgd_step',),
                 ('lora_course.loraplus.loraplus_sgd_step', 'lora_course.loraplus.loraplus_learning_rates')),
    "nf4_levels": (('normal_float_levels',), ('lora_course.nf4.nf4_levels',)),
    "nf4_quantize": (('nf4_quantize',), ('lora_course.nf4.quantize_blockwise',)),
    "nf4_dequantize": (('nf4_dequantize',), ('lora_course.nf4.dequantize_blockwise',)),
})


judge_safely, run_check = lesson_runners(CHECKS, make_inputs)
