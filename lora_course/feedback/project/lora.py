"""Judges of lesson 05's first stage, the LoRA layer: init, forward, backward, update, merged delta."""

from __future__ import annotations

import numpy as np

from lora_course.feedback.outcomes import normal_draws
from lora_course.feedback.project.common import Outcome, array, fail, same, scales
from lora_course.layer import lora_backward, lora_forward
from lora_course.merge import merged_delta


def judge_init(data: dict, inputs: dict) -> Outcome:
    k, d, r = int(inputs["init_d_in"]), int(inputs["init_d_out"]), int(inputs["init_r"])
    std_want, alpha = float(inputs["init_scale"]), float(inputs["init_alpha"])
    A, B = array(data, "A"), array(data, "B")
    if A.shape != (r, k):
        fail(f"A: expected shape (r, d_in) = {(r, k)}, got {A.shape}", "A projects down: (r, d_in)")
    if B.shape != (d, r):
        fail(f"B: expected shape (d_out, r) = {(d, r)}, got {B.shape}", "B projects up: (d_out, r)")
    if np.any(B != 0):
        fail(f"B is not zero after __init__ (max |B| = {np.max(np.abs(B)):.3g})",
             "B starts at exactly zero so B A = 0 and the adapted network starts as the frozen one; "
             "the Gaussian goes into A")
    if np.all(A == 0):
        fail("A is all zeros", "with A = B = 0 both gradients vanish and nothing trains: draw A from "
             "N(0, init_scale^2)")
    normal_draws(A, std_want, "A = rng.normal(0.0, init_scale, size=(r, d_in)): init_scale is the standard deviation")
    if not np.array_equal(A, array(data, "A_again")):
        fail("two LoRAs built with the same seed have different A",
             "draw A from the rng argument, not from np.random or a fresh generator")
    if np.array_equal(A, array(data, "A_other_seed")):
        fail("two LoRAs built with generators of different seeds have the same A",
             "draw A from the rng argument, not from np.random or a generator of your own")
    scale, default = float(array(data, "scale")), float(array(data, "scale_default_alpha"))
    if not np.isclose(scale, alpha / r):
        fail(f"scale = {scale:.4g} for alpha = {alpha:g}, r = {r}; expected alpha / r = {alpha / r:.4g}",
             "scale = alpha / r (with alpha = r when alpha is None)")
    if not np.isclose(default, 1.0):
        fail(f"with alpha omitted, scale = {default:.4g}; expected 1", "alpha defaults to r, so scale = 1")
    return Outcome(True, f"A ~ N(0, {std_want}^2) with shape {A.shape}, B = 0 with shape {B.shape}, "
                         "scale = alpha / r")


def judge_forward(data: dict, inputs: dict) -> Outcome:
    X = np.asarray(inputs["X"], float)
    want, _ = lora_forward(X, inputs["A"], inputs["B"], float(inputs["alpha"]) / int(inputs["r"]))
    same("delta", array(data, "delta"), want, "delta = scale * (x @ A.T) @ B.T", factors=scales(inputs))
    return Outcome(True, f"delta = scale x A^T B^T, shape {want.shape}")


def judge_backward(data: dict, inputs: dict) -> Outcome:
    X, G = np.asarray(inputs["X"], float), np.asarray(inputs["G"], float)
    _, cache = lora_forward(X, inputs["A"], inputs["B"], float(inputs["alpha"]) / int(inputs["r"]))
    dX, dA, dB = lora_backward(G, cache)
    factors = scales(inputs, n=X.shape[0])
    same("dB", array(data, "dB"), dB, "dB = scale * grad_output.T @ z, shape (d_out, r)", factors=factors)
    same("dA", array(data, "dA"), dA, "dA = (scale * grad_output @ B).T @ x, shape (r, d_in)", factors=factors)
    same("grad wrt x (the return value)", array(data, "dX"), dX,
          "return (scale * grad_output @ B) @ A, shape (n, d_in)", factors=factors)
    return Outcome(True, "dA, dB and the gradient wrt x match the reference")


def judge_update(data: dict, inputs: dict) -> Outcome:
    lr = float(inputs["lr"])
    for name in ("A", "B"):
        want = np.asarray(inputs[name], float) - lr * np.asarray(inputs["d" + name], float)
        got = array(data, name)
        if got.shape == want.shape and np.allclose(got, np.asarray(inputs[name], float) + lr * inputs["d" + name]):
            fail(f"{name} moved up the gradient", "gradient descent subtracts: A -= lr * dA")
        same(name, got, want, f"{name} -= lr * d{name}")
    return Outcome(True, "A -= lr dA and B -= lr dB")


def judge_merged_delta(data: dict, inputs: dict) -> Outcome:
    want = merged_delta(inputs["A"], inputs["B"], float(inputs["alpha"]) / int(inputs["r"]))
    same("get_merged_delta()", array(data, "delta_W"), want,
          "return scale * B @ A, shape (d_out, d_in)", factors=scales(inputs))
    return Outcome(True, f"scale B A with shape (d_out, d_in) = {want.shape}")
