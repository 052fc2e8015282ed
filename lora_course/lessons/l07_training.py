"""Lesson 07's training loop: LoRA, DoRA and PiSSA adapters on lesson 02's toy regression, with Adam and
LoRA+'s two learning rates, and the 4-bit (NF4) frozen base of QLoRA.

Every variant trains on the same ``ToyTask`` (``lora_course.lessons.l02_toy_regression``): fit
Y = X (W0 + Delta_true)^T with W0 frozen, loss ||H - Y||_F^2 / (2 n). Adam (bias-corrected) keeps one learning
rate per group: A at ``lr``, B at ``ratio * lr`` (LoRA+; ratio = 1 is plain LoRA), DoRA's m at ``lr``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lora_course.dora import dora_backward, dora_forward, dora_magnitude
from lora_course.layer import init_lora, linear_lora_backward, linear_lora_forward, scale_factor
from lora_course.lessons.l02_toy_regression import ToyTask, mse_loss
from lora_course.nf4 import dequantize_blockwise, nf4_levels, quantize_blockwise
from lora_course.pissa import pissa_init
from lora_course.validation import (
    InputError,
    as_array,
    as_real,
    check_choice,
    check_instance,
    check_number,
    check_open_interval,
    check_positive_int,
    check_rank,
    check_rng,
    check_shape,
)

METHODS = ("lora", "dora", "pissa")
DIVERGED = 1e6


class FamilyRun(NamedTuple):
    """losses (steps + 1,), losses[0] before any step; ``trainable`` the number of trained numbers."""

    losses: np.ndarray
    trainable: int


def nf4_base(W0: np.ndarray, block: int = 64) -> np.ndarray:
    """W0 stored as NF4 with block-wise absmax and read back: the frozen base QLoRA computes with."""
    W0 = as_array("W0", W0, ndim=2, allow_empty=False)
    levels = nf4_levels()
    codes, absmax = quantize_blockwise(W0, levels, block)
    return dequantize_blockwise(codes, absmax, levels, W0.shape, block)


def train_adapter(task: ToyTask, method: str, r: int, rng: np.random.Generator, *, steps: int = 200,
                  lr: float = 0.01, ratio: float = 1.0, alpha: float | None = None, rslora: bool = False,
                  init_std: float = 0.1, base: np.ndarray | None = None) -> FamilyRun:
    """Train one adapter with Adam for ``steps`` full-batch steps; ``base`` replaces W0 (e.g. an NF4 copy)."""
    check_instance("task", task, ToyTask)
    check_choice("method", method, METHODS)
    d, k = task.W0.shape
    r = check_rank(r, d, k)
    check_rng(rng)
    steps = check_positive_int("steps", steps)
    lr = check_number("lr", lr, minimum=0)
    ratio = check_number("ratio", ratio, minimum=0)
    init_std = check_number("init_std", init_std, minimum=0)
    scale = scale_factor(r, alpha, rslora=rslora)
    W0 = task.W0 if base is None else as_array("base", base, ndim=2)
    check_shape("base", W0, (d, k), "like task.W0")
    if base is not None and method == "dora" and np.any(np.linalg.norm(W0, axis=1) == 0):
        raise InputError("base: expected every row to have a non-zero norm (DoRA divides by it), got "
                         f"{int(np.sum(np.linalg.norm(W0, axis=1) == 0))} zero rows")
    if method == "pissa":
        A, B, W0 = pissa_init(W0, r, scale)                                  # W0 becomes W_res
    else:
        A, B = init_lora(d, k, r, rng, std=init_std)
    params = {"A": A, "B": B}
    if method == "dora":
        params["m"] = dora_magnitude(W0)
    rates = {"A": lr, "B": ratio * lr, "m": lr}
    moments = {name: (np.zeros_like(p), np.zeros_like(p)) for name, p in params.items()}
    losses = np.full(steps + 1, np.inf)
    for t in range(steps + 1):
        if not all(np.isfinite(p).all() for p in params.values()):
            break                                      # a huge lr or init_std overflowed: diverged, rest stays inf
        if method == "dora":
            H, cache = dora_forward(task.X, W0, params["A"], params["B"], params["m"], scale)
        else:
            H, cache = linear_lora_forward(task.X, W0, params["A"], params["B"], scale)
        if not np.isfinite(H).all():
            break
        losses[t], dH = mse_loss(H, task.Y)
        if t == steps or not losses[t] <= DIVERGED * max(losses[0], 1e-12):
            break
        if method == "dora":
            _, dA, dB, dm = dora_backward(dH, cache)
            grads = {"A": dA, "B": dB, "m": dm}
        else:
            _, dA, dB = linear_lora_backward(dH, cache)
            grads = {"A": dA, "B": dB}
        for name, g in grads.items():
            m1, m2 = moments[name]
            m1 *= 0.9
            m1 += 0.1 * g
            m2 *= 0.999
            m2 += 0.001 * g * g
            step = (m1 / (1 - 0.9 ** (t + 1))) / (np.sqrt(m2 / (1 - 0.999 ** (t + 1))) + 1e-8)
            params[name] = params[name] - rates[name] * step
    return FamilyRun(losses, int(sum(p.size for p in params.values())))


def steps_to(losses: np.ndarray, fraction: float) -> int:
    """The first step whose loss is at most ``fraction`` of the start; len(losses) if never (a capped count).

    A +inf loss is a diverged run (``train_adapter`` fills the rest of its curve with inf): it never counts.
    """
    losses = as_real("losses", losses, ndim=1)
    if losses.size == 0:
        raise InputError("losses: expected a non-empty loss curve, got shape (0,)")
    if np.any(np.isnan(losses)) or np.any(losses < 0):
        raise InputError(f"losses: expected losses >= 0 (squared errors; +inf for a diverged run), got "
                         f"{int(np.sum(np.isnan(losses) | (losses < 0)))} NaN or negative")
    fraction = check_open_interval("fraction", fraction, 0, 1, what="a fraction of the start")
    if not np.isfinite(losses[0]):
        return int(losses.size)
    hit = np.nonzero(losses <= fraction * losses[0])[0]
    return int(hit[0]) if hit.size else int(losses.size)
