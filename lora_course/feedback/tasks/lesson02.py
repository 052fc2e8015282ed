"""Checks of lesson 02's implement-it tasks: the LoRA layer's forward, its backward, and a numerical gradient.

The student writes (names in the notebook; row convention, a batch X of n rows):

    init_lora_factors(d, k, r, std, rng) -> (A, B)          A (r, k) ~ N(0, std^2) from rng, B (d, r) zeros
    lora_layer_forward(X, W0, A, B, alpha) -> (H, cache)   H = X W0^T + (alpha / r) X A^T B^T, r = A.shape[0]
    lora_layer_backward(G, cache) -> (dX, dA, dB)          G = dL/dH (n, d), already averaged over the batch
    numerical_gradient(f, x, h=1e-5) -> grad               central differences of the scalar f() wrt x
"""

from __future__ import annotations

import numpy as np

from lora_course.feedback.calls import returned_tuple
from lora_course.feedback.outcomes import normal_draws
from lora_course.feedback.tasks.common import (
    Check,
    Outcome,
    array,
    call,
    check_seed,
    check_table,
    fail,
    floats,
    get,
    lesson_runners,
    out,
    parts,
    same,
    unchanged,
)
from lora_course.layer import linear_lora_backward, linear_lora_forward

FROZEN_HINT = "W0, A and B are inputs: compute new arrays, never write into them (no +=, no out=)"


def make_inputs(seed: int) -> dict:
    """Inputs of the checks, drawn from ``seed``: n, d, k, r and alpha all differ and none is another's product
    (n = 7, d = 5, k = 8, r = 3, alpha = 12), so alpha / r = 4 differs from alpha, 1 / r, alpha / k, alpha / d..."""
    rng = np.random.default_rng([check_seed(seed), 2])
    n, d, k, r = 7, 5, 8, 3
    return {"seed": int(seed), "alpha": 12.0,
            "X": rng.normal(size=(n, k)), "W0": rng.normal(size=(d, k)), "A": rng.normal(size=(r, k)),
            "B": rng.normal(size=(d, r)), "G": rng.normal(size=(n, d)) / n,
            "x": rng.normal(size=(3, 4)), "C": rng.normal(size=(4, 5)), "D": rng.normal(size=(3, 5)), "h": 1e-5,
            # initialisation statistics need a bigger A: 6 x 96 = 576 draws
            "init_d": 40, "init_k": 96, "init_r": 6, "init_std": 0.05, "init_seed": 1000 + int(seed)}


# ----------------------------------------------------------------------------- student side (collect)

def _collect_init(ns: dict, inputs: dict) -> dict:
    init = get(ns, "init_lora_factors")
    d, k, r, std = (int(inputs["init_d"]), int(inputs["init_k"]), int(inputs["init_r"]), float(inputs["init_std"]))
    A, B = parts(call("init_lora_factors", init, d, k, r, std, np.random.default_rng(int(inputs["init_seed"]))),
                 ("A", "B"), "init_lora_factors")
    A_again, _ = parts(call("init_lora_factors", init, d, k, r, std,
                            np.random.default_rng(int(inputs["init_seed"]))), ("A", "B"), "init_lora_factors")
    A_other, _ = parts(call("init_lora_factors", init, d, k, r, std,
                            np.random.default_rng(int(inputs["init_seed"]) + 1)), ("A", "B"), "init_lora_factors")
    return {"A": A, "B": B, "A_again": A_again, "A_other_seed": A_other}


def _forward(ns: dict, inputs: dict) -> tuple[tuple, dict]:
    X, W0, A, B = (floats(inputs[key]) for key in ("X", "W0", "A", "B"))
    result = call("lora_layer_forward", get(ns, "lora_layer_forward"), X, W0, A, B, float(inputs["alpha"]))
    H, cache = returned_tuple("lora_layer_forward", result, ("H", "cache"))
    H = out(H, "lora_layer_forward's H")
    after = {"X_after": floats(X), "W0_after": floats(W0), "A_after": floats(A), "B_after": floats(B)}
    return (H, cache), after


def _collect_forward(ns: dict, inputs: dict) -> dict:
    (H, _), after = _forward(ns, inputs)
    return {"H": H, **after}


def _collect_backward(ns: dict, inputs: dict) -> dict:
    (_, cache), _ = _forward(ns, inputs)
    result = call("lora_layer_backward", get(ns, "lora_layer_backward"), floats(inputs["G"]), cache)
    dX, dA, dB = parts(result, ("dX", "dA", "dB"), "lora_layer_backward")
    return {"dX": dX, "dA": dA, "dB": dB}


def _collect_numerical(ns: dict, inputs: dict) -> dict:
    x, C, D = floats(inputs["x"]), floats(inputs["C"]), floats(inputs["D"])

    def f() -> float:
        return float(np.sum(D * np.tanh(x @ C)))

    grad = call("numerical_gradient", get(ns, "numerical_gradient"), f, x, float(inputs["h"]))
    return {"grad": out(grad, "numerical_gradient's result"), "x_after": floats(x)}


# ---------------------------------------------------------------------------------- grader side (judge)

def _given(inputs: dict) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(inputs[key], float) for key in ("X", "W0", "A", "B", "G"))


def _judge_init(data: dict, inputs: dict) -> Outcome:
    d, k, r, std_want = (int(inputs["init_d"]), int(inputs["init_k"]), int(inputs["init_r"]), float(inputs["init_std"]))
    A, B = array(data, "A"), array(data, "B")
    if A.shape == (d, r) and B.shape == (r, k):
        fail(f"A has shape {A.shape} and B {B.shape}: the two are swapped", "return (A, B): A (r, k), B (d, r)")
    if A.shape != (r, k):
        if A.shape == (k, r):
            fail(f"A: shape {A.shape} is the transpose of (r, k) = {(r, k)}", "A projects down: (r, k)")
        fail(f"A: expected shape (r, k) = {(r, k)}, got {A.shape}", "A projects down: (r, k)")
    if B.shape != (d, r):
        fail(f"B: expected shape (d, r) = {(d, r)}, got {B.shape}", "B projects up: (d, r)")
    if np.all(A == 0) and np.any(B != 0):
        fail("A is zero and B is random: that is the mirrored choice, not the paper's",
             "the paper draws A from N(0, std^2) and sets B = 0 (Section 4.1)")
    if np.any(B != 0):
        fail(f"B is not zero (max |B| = {np.max(np.abs(B)):.3g})",
             "B starts at exactly zero so that B A = 0 and the layer starts as the frozen one")
    if np.all(A == 0):
        fail("A is all zeros", "with A = B = 0 both gradients vanish and nothing ever trains: draw A from N(0, std^2)")
    std = float(A.std())
    if np.isclose(std / std_want**2, 1.0, rtol=0.15):
        fail(f"A's entries have std {std:.3g}, which is std^2", "std is the standard deviation: rng.normal(0.0, std, "
             "size=(r, k)), not the variance")
    normal_draws(A, std_want, "A = rng.normal(0.0, std, size=(r, k))")
    if not np.array_equal(A, array(data, "A_again")):
        fail("two calls with generators of the same seed gave different A",
             "draw A from the rng argument, not from np.random or a generator of your own")
    if np.array_equal(A, array(data, "A_other_seed")):
        fail("two calls with generators of different seeds gave the same A",
             "draw A from the rng argument, not from np.random or a generator of your own")
    return Outcome(True, f"A ~ N(0, {std_want}^2) with shape (r, k), B = 0 with shape (d, r), drawn from rng")


def _judge_forward(data: dict, inputs: dict) -> Outcome:
    X, W0, A, B, _ = _given(inputs)
    alpha, r = float(inputs["alpha"]), A.shape[0]
    for name, before in (("W0", W0), ("A", A), ("B", B), ("X", X)):
        unchanged(name, before, array(data, f"{name}_after"), FROZEN_HINT)
    frozen, branch = X @ W0.T, X @ A.T @ B.T                             # (n, d), (n, d)
    s = alpha / r
    variants = {
        f"scale = alpha / r: you used alpha (here {alpha:g} instead of {s:g})": frozen + alpha * branch,
        "the scale alpha / r is missing": frozen + branch,
        f"r is A.shape[0] (the rank, {r}); you divided alpha by A.shape[1] = k": frozen + alpha / A.shape[1] * branch,
        "r is A.shape[0], the rank; you divided alpha by B.shape[0] = d": frozen + alpha / B.shape[0] * branch,
        "the scale is r / alpha, upside down: scale = alpha / r": frozen + (r / alpha) * branch,
        "the scale is applied twice": frozen + s * s * branch,
        f"scale = alpha / r, not 1 / r (here {s:g}, not {1 / r:.3g})": frozen + branch / r,
        "the low-rank branch has the wrong sign: H = X W0^T + scale X A^T B^T": frozen - s * branch,
        "the low-rank branch is missing: add scale * X A^T B^T": frozen,
        "the frozen path is missing: H = X W0^T + the branch": s * branch,
    }
    same("H", array(data, "H"), linear_lora_forward(X, W0, A, B, s)[0],
         "H = X @ W0.T + (alpha / r) * (X @ A.T) @ B.T, shape (n, d)", atol=1e-10, variants=variants)
    return Outcome(True, "H = X W0^T + (alpha / r) X A^T B^T, and no input was modified")


def _judge_backward(data: dict, inputs: dict) -> Outcome:
    X, W0, A, B, G = _given(inputs)
    alpha, r, n = float(inputs["alpha"]), A.shape[0], X.shape[0]
    s = alpha / r
    dZ = s * G @ B                                                        # (n, r)
    dX, dA, dB = linear_lora_backward(G, linear_lora_forward(X, W0, A, B, s)[1])
    want = {"dB": dB, "dA": dA, "dX": dX}
    order = ("dX", "dA", "dB")
    got_shapes = [array(data, name).shape for name in order]
    wanted = {want[name].shape: name for name in order}
    if sorted(got_shapes) == sorted(wanted) and got_shapes != [want[name].shape for name in order]:
        returned = ", ".join(wanted[shape] for shape in got_shapes)
        fail(f"the values come back in the order ({returned}) (judged by their shapes {got_shapes})",
             "return (dX, dA, dB) in that order: dX (n, k), dA (r, k), dB (d, r)")
    factors = {
        f"scale = alpha / r: you used alpha (a factor r = {r} too large)": float(r),
        f"r is A.shape[0] (the rank, {r}); you divided alpha by A.shape[1] = k": r / A.shape[1],
        "the scale alpha / r is missing from this gradient": 1 / s,
        "the scale alpha / r is applied twice": s,
        "the sign is flipped": -1.0,
        "do not divide by n: G = dL/dH already carries the 1/n of the mean loss": 1 / n,
        "G already holds the 1/n of the mean; do not multiply by n": float(n),
    }
    hints = {"dB": "dB = scale * G^T (X A^T), shape (d, r)", "dA": "dA = scale * (G B)^T X, shape (r, k)",
             "dX": "dX = G W0 + scale * G B A, shape (n, k)"}
    dX_variants = {"X feeds both paths, so dX is a sum: the frozen path's G W0 is missing": dZ @ A,
                   "X feeds both paths, so dX is a sum: the branch's scale * G B A is missing": G @ W0}
    for name in ("dB", "dA", "dX"):
        same(name, array(data, name), want[name], hints[name] + " (pass the forward check first)", atol=1e-10,
             factors=factors if name != "dX" else None, variants=dX_variants if name == "dX" else None)
    return Outcome(True, "dX, dA and dB match the chain rule through both paths")


def _judge_numerical(data: dict, inputs: dict) -> Outcome:
    x, C, D, h = (np.asarray(inputs[key], float) for key in ("x", "C", "D", "h"))
    unchanged("x", x, array(data, "x_after"), "restore x[i] to its old value after each pair of evaluations")
    T = np.tanh(x @ C)
    want = (D * (1 - T**2)) @ C.T                                        # the exact gradient, (3, 4)
    got = array(data, "grad")
    h = float(h)

    def f(z: np.ndarray) -> float:
        return float(np.sum(D * np.tanh(z @ C)))

    if got.shape == want.shape and np.all(got == 0):
        fail("grad is all zeros: f() never saw the nudged values",
             "f() reads x itself: change x[i] in place (x[i] += h), call f(), then put x[i] back; nudging a copy "
             "of x leaves f() unchanged")
    forward = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        z = x.copy()
        z[i] += h
        forward[i] = (f(z) - f(x)) / h
    if got.shape == want.shape and np.allclose(got, forward, rtol=0, atol=1e-8) and \
            not np.allclose(got, want, rtol=0, atol=1e-8):
        fail("your gradient matches a one-sided difference (f(x + h) - f(x)) / h",
             "use central differences (f(x + h) - f(x - h)) / (2 h): their error shrinks like h^2, not h")
    factors = {"divide the central difference by 2 h, not h": 2.0, "divide by 2 h once, not twice": 0.5,
               "the sign is flipped: (f(x + h) - f(x - h)) / (2 h)": -1.0}
    same("grad", got, want, "grad[i] = (f() with x[i] + h  -  f() with x[i] - h) / (2 h), for every index i",
         atol=1e-7, factors=factors)
    return Outcome(True, "central differences match the exact gradient, and x is restored")


CHECKS: dict[str, Check] = check_table((
    Check("init", "A Gaussian (r, k) with the given std, B zeros (d, r)", _collect_init, _judge_init),
    Check("forward", "H = X W0^T + (alpha / r) X A^T B^T", _collect_forward, _judge_forward),
    Check("backward", "dX, dA and dB of the LoRA layer", _collect_backward, _judge_backward),
    Check("numerical_gradient", "central differences, x restored", _collect_numerical, _judge_numerical),
), {
    "init": (('init_lora_factors',),
        ('lora_course.layer.init_lora',
         'lora_course.layer.LoRA',
         'lora_course.lessons.l02_toy_regression.init_factors')),
    "forward": (('lora_layer_forward',),
        ('lora_course.layer.lora_forward',
         'lora_course.layer.linear_lora_forward',
         'lora_course.layer.LoRA')),
    "backward": (('lora_layer_backward',),
        ('lora_course.layer.lora_backward',
         'lora_course.layer.linear_lora_backward',
         'lora_course.layer.LoRA')),
    "numerical_gradient": (('numerical_gradient',),
        ('lora_course.gradcheck.numerical_gradient',
         'lora_course.gradcheck.numerical_gradient_array')),
})


judge_safely, run_check = lesson_runners(CHECKS, make_inputs)
