"""A toy regression task for lesson 02: fit a low-rank change of a frozen linear map with LoRA.

The "pre-trained" weight is W0 (d, k). The task's true weight is W0 + Delta_true, where Delta_true
has a small rank. Inputs X (n, k) give targets Y = X (W0 + Delta_true)^T (n, d). Only the LoRA
factors A (r, k) and B (d, r) are trained, through ``linear_lora_forward`` / ``linear_lora_backward``,
on the loss L = ||H - Y||_F^2 / (2 n).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np

from lora_course.layer import (
    _linear_lora_forward,
    _lora_backward,
    init_lora,
    scale_factor,
)
from lora_course.validation import (
    InputError,
    as_array,
    as_float_array,
    check_alpha,
    check_choice,
    check_instance,
    check_number,
    check_positive_int,
    check_rank,
    check_rng,
    check_sequence,
    check_shape,
    check_size,
)

INITS = ("paper", "both_zero", "b_random")
SCALINGS = ("none", "alpha_over_r", "alpha_over_sqrt_r")
OPTIMIZERS = ("sgd", "adam")
DIVERGED = 1e6   # a loss this many times the starting loss counts as diverged


class ToyTask(NamedTuple):
    """W0 (d, k) frozen, delta_true (d, k) of rank ``true_rank``, X (n, k), Y (n, d)."""

    W0: np.ndarray
    delta_true: np.ndarray
    X: np.ndarray
    Y: np.ndarray


class TrainResult(NamedTuple):
    """losses (steps + 1,) with losses[0] before any step; final A (r, k), B (d, r) and the scale used."""

    losses: np.ndarray
    A: np.ndarray
    B: np.ndarray
    scale: float


def make_task(rng: np.random.Generator, d: int = 32, k: int = 32, n: int = 256, true_rank: int = 2,
              delta_size: float = 1.0) -> ToyTask:
    """Draw W0 with entries N(0, 1/k), a rank-``true_rank`` Delta_true with ||Delta_true||_F = delta_size, and data."""
    check_rng(rng)
    d, k, n = check_positive_int("d", d), check_positive_int("k", k), check_positive_int("n", n)
    check_size({"d": d, "k": k}, "W0 (d, k)")
    check_size({"n": n, "k": k}, "X (n, k)")
    true_rank = check_rank(true_rank, d, k, name="true_rank")
    check_number("delta_size", delta_size, minimum=0)
    W0 = rng.normal(0.0, 1.0 / np.sqrt(k), size=(d, k))
    delta = rng.normal(size=(d, true_rank)) @ rng.normal(size=(true_rank, k))   # (d, k), rank true_rank
    delta *= delta_size / np.linalg.norm(delta)
    X = rng.normal(size=(n, k))
    return ToyTask(W0, delta, X, X @ (W0 + delta).T)


def mse_loss(H: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
    """L = ||H - Y||_F^2 / (2 n) and dL/dH = (H - Y) / n, for H, Y of shape (n, d)."""
    H = as_array("H", H, ndim=2)
    Y = as_array("Y", Y, ndim=2)
    check_shape("Y", Y, H.shape, "= H.shape")
    if H.shape[0] == 0:
        raise InputError("H: expected at least one row, got an empty batch (n = 0)")
    return _mse_loss(H, Y)


def _mse_loss(H: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
    """``mse_loss`` on checked inputs (``train_lora``'s steps)."""
    diff = H - Y
    n = H.shape[0]
    return float(np.sum(diff * diff) / (2 * n)), diff / n


def scale_for(scaling: str, r: int, alpha: float) -> float:
    """The branch's multiplier: 1 ("none"), alpha / r, or alpha / sqrt(r) (rsLoRA)."""
    if not isinstance(scaling, str) or scaling not in SCALINGS:
        raise InputError(f"scaling: expected one of {SCALINGS}, got {scaling!r}")
    if scaling == "none":
        check_positive_int("r", r)
        check_alpha(alpha)
        return 1.0
    return scale_factor(r, alpha, rslora=scaling == "alpha_over_sqrt_r")


def init_factors(d: int, k: int, r: int, rng: np.random.Generator, init: str = "paper",
                 std: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """A (r, k), B (d, r) for one of three inits.

    ``paper``: A ~ N(0, std^2), B = 0 (``init_lora``).  ``both_zero``: A = 0, B = 0.
    ``b_random``: A = 0, B ~ N(0, std^2) (the mirrored choice; also starts at B A = 0).
    """
    if not isinstance(init, str) or init not in INITS:
        raise InputError(f"init: expected one of {INITS}, got {init!r}")
    A, B = init_lora(d, k, r, rng, std=std)
    if init == "both_zero":
        A = np.zeros_like(A)
    elif init == "b_random":
        A, B = np.zeros_like(A), rng.normal(0.0, std, size=B.shape)
    return A, B


def train_lora(task: ToyTask, r: int, rng: np.random.Generator, *, steps: int = 200, lr: float = 0.1,
               alpha: float | None = None, scaling: str = "alpha_over_r", init: str = "paper",
               init_std: float = 0.01, optimizer: Literal["sgd", "adam"] = "sgd",
               betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> TrainResult:
    """Train A and B (W0 frozen) for ``steps`` full-batch steps; return the loss before each step and after the last.

    ``alpha`` defaults to r. ``optimizer="adam"`` uses Adam with bias correction (as in the paper's experiments).
    If the loss exceeds ``DIVERGED`` times its start, or the factors or the output overflow to inf (a huge lr or
    init_std), training stops and the rest of the curve is inf.
    """
    check_instance("task", task, ToyTask)
    W0 = as_float_array("task.W0", task.W0, ndim=2, allow_empty=False)   # float: integer products would wrap
    X = as_array("task.X", task.X, ndim=2, allow_empty=False)
    Y = as_array("task.Y", task.Y, ndim=2)
    d, k = W0.shape
    check_shape("task.X", X, (None, k), f"= (n, k) with k = task.W0.shape[1] = {k}")
    check_shape("task.Y", Y, (X.shape[0], d), f"= (n, d) with n = task.X.shape[0], d = task.W0.shape[0] = {d}")
    r = check_rank(r, d, k)
    check_rng(rng)
    steps = check_positive_int("steps", steps)
    lr = check_number("lr", lr, minimum=0)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_choice("init", init, INITS)
    check_number("init_std", init_std, minimum=0)
    betas = check_sequence("betas", betas)
    if len(betas) != 2:
        raise InputError(f"betas: expected two numbers (beta1, beta2), got {len(betas)}")
    betas = [check_number(f"betas[{i}]", beta, minimum=0, strict=False, maximum=1, max_strict=True,
                          what="a number in [0, 1)") for i, beta in enumerate(betas)]
    eps = check_number("eps", eps, minimum=0)
    alpha = float(r) if alpha is None else check_alpha(alpha)
    scale = scale_for(scaling, r, alpha)
    A, B = init_factors(d, k, r, rng, init=init, std=init_std)
    params = [A, B]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    losses = np.full(steps + 1, np.inf)
    for t in range(steps + 1):          # every input is vetted above: each step is the unchecked arithmetic
        if not (np.isfinite(A).all() and np.isfinite(B).all()):
            break                                                          # overflowed: diverged, rest stays inf
        H, cache = _linear_lora_forward(X, W0, A, B, scale)                # (n, d)
        if not np.isfinite(H).all():
            break
        losses[t], dH = _mse_loss(H, Y)
        if t == steps or not losses[t] <= DIVERGED * max(losses[0], 1e-12) or not np.isfinite(losses[t]):
            break                                                          # done, or diverged: rest stays inf
        _, dA, dB = _lora_backward(dH, cache[1])                          # (r, k), (d, r): W0 gets none
        for i, g in enumerate((dA, dB)):
            if optimizer == "sgd":
                step = g
            else:
                m[i] = betas[0] * m[i] + (1 - betas[0]) * g
                v[i] = betas[1] * v[i] + (1 - betas[1]) * g * g
                m_hat = m[i] / (1 - betas[0] ** (t + 1))
                v_hat = v[i] / (1 - betas[1] ** (t + 1))
                step = m_hat / (np.sqrt(v_hat) + eps)
            params[i] -= lr * step
    return TrainResult(losses, A, B, scale)
