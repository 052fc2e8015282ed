"""How big is LoRA's first training step, as a function of the rank r and the scaling? (lesson 02's widget)

From the paper's init (B = 0, A Gaussian) one optimizer step on the toy task of ``toy_regression``
moves only B, so the update is Delta W = scale * B_1 A, a (d, k) matrix. Two sizes are reported:

- ``frobenius``: ||Delta W||_F, the whole step (useful and random parts);
- ``progress``: <Delta W, Delta_true> / ||Delta_true||_F^2, the fraction of the way to the true update
  covered by the step (the part of the step that points where it should).

The A factors for different r are nested (the first r rows of one pool), so r is the only change, and
both sizes are averaged over several independent pools (one A draw at small r is a lottery).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, NamedTuple

import numpy as np

from lora_course.layer import linear_lora_backward, linear_lora_forward
from lora_course.lessons.l02_toy_regression import OPTIMIZERS, SCALINGS, ToyTask, make_task, mse_loss, scale_for
from lora_course.merge import merged_delta
from lora_course.validation import (
    InputError,
    InputTypeError,
    as_array,
    check_alpha,
    check_choice,
    check_instance,
    check_int,
    check_mapping,
    check_number,
    check_positive_int,
    check_rank,
    check_scale,
    check_sequence,
    check_size,
)


class OneStepSetup(NamedTuple):
    """The task (W0 (d, k), delta_true, X (n, k), Y (n, d)) and pools of A rows (draws, max_r, k)."""

    task: ToyTask
    A_pool: np.ndarray


class UpdateSize(NamedTuple):
    """||Delta W||_F and the fraction of the way to Delta_true after one step (means over the A draws)."""

    frobenius: float
    progress: float


def make_setup(seed: int = 0, d: int = 32, k: int = 32, n: int = 128, true_rank: int = 1,
               max_r: int = 32, draws: int = 32, init_std: float | None = None) -> OneStepSetup:
    """Task and ``draws`` A pools from one seed; A rows ~ N(0, init_std^2), init_std defaulting to 1 / sqrt(k)."""
    seed = check_int("seed", seed, 0)
    rng = np.random.default_rng(seed)
    task = make_task(rng, d=d, k=k, n=n, true_rank=true_rank)
    max_r = check_rank(max_r, d, k, name="max_r")
    std = 1.0 / np.sqrt(k) if init_std is None else check_number("init_std", init_std, minimum=0)
    draws = check_positive_int("draws", draws)
    check_size({"draws": draws, "max_r": max_r, "k": k}, "the A pools (draws, max_r, k)")
    return OneStepSetup(task, rng.normal(0.0, std, size=(draws, max_r, k)))


def one_step_delta(setup: OneStepSetup, r: int, scale: float, lr: float = 0.01,
                   optimizer: Literal["sgd", "adam"] = "sgd", draw: int = 0) -> np.ndarray:
    """Delta W (d, k) after one step from B = 0 with A = the first r rows of pool ``draw``.

    SGD: B_1 = -lr dB. Adam's first step (bias-corrected) is lr * g / (|g| + eps), i.e. about lr * sign(g).
    """
    check_instance("setup", setup, OneStepSetup)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_number("lr", lr, minimum=0)
    check_scale(scale)
    r = check_positive_int("r", r, upper=setup.A_pool.shape[1])
    check_int("draw", draw)
    if not 0 <= draw < setup.A_pool.shape[0]:
        raise InputError(f"draw: expected 0 <= draw < {setup.A_pool.shape[0]}, got {draw}")
    task = setup.task
    A = setup.A_pool[draw, :r]                                      # (r, k)
    B0 = np.zeros((task.W0.shape[0], r))                            # (d, r)
    H, cache = linear_lora_forward(task.X, task.W0, A, B0, scale)   # (n, d) = X W0^T at step 0
    _, dH = mse_loss(H, task.Y)
    _, _, dB = linear_lora_backward(dH, cache)                      # (d, r); dA is 0 because B = 0
    step = dB if optimizer == "sgd" else dB / (np.abs(dB) + 1e-8)
    return merged_delta(A, -lr * step, scale)                       # (d, k)


def _step_factor(scale: float, optimizer: str) -> float:
    """How Delta W grows with the scale: B_1 is proportional to scale under SGD and not under Adam's first
    step, and Delta W = scale * B_1 A, so Delta W(scale) = scale^2 (SGD) or scale (Adam) times Delta W(1)."""
    check_number("scale", scale, minimum=0)
    return scale * scale if optimizer == "sgd" else scale


def _sizes_at_unit_scale(setup: OneStepSetup, r: int, lr: float, optimizer: str) -> UpdateSize:
    target = setup.task.delta_true
    deltas = [one_step_delta(setup, r, 1.0, lr, optimizer, draw) for draw in range(setup.A_pool.shape[0])]
    return UpdateSize(float(np.mean([np.linalg.norm(dw) for dw in deltas])),
                      float(np.mean([np.sum(dw * target) for dw in deltas]) / np.sum(target * target)))


def _check_common(setup, r, lr, optimizer, name: str = "r") -> None:
    check_instance("setup", setup, OneStepSetup)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_number("lr", lr, minimum=0)
    check_positive_int(name, r, upper=setup.A_pool.shape[1])


def update_size(setup: OneStepSetup, r: int, scale: float, lr: float = 0.01,
                optimizer: Literal["sgd", "adam"] = "sgd") -> UpdateSize:
    """Both sizes of the first step for one r and one scale, averaged over the A draws."""
    _check_common(setup, r, lr, optimizer)
    factor = _step_factor(scale, optimizer)
    base = _sizes_at_unit_scale(setup, r, lr, optimizer)
    return UpdateSize(factor * base.frobenius, factor * base.progress)


def _rank_list(name: str, ranks, upper: int | None = None) -> list[int]:
    """``ranks`` (list, tuple, range or 1-D integer array) as a non-empty list of ints in [1, upper], checked in
    one vectorised pass (``rescale_sizes`` runs on every slider move)."""
    if isinstance(ranks, np.ndarray):
        arr = ranks
    else:
        check_sequence(name, ranks)
        try:
            arr = np.asarray(ranks) if len(ranks) else np.zeros(0, dtype=int)
        except (ValueError, TypeError):      # ragged nesting
            raise InputTypeError(f"{name}: expected a 1-D sequence of integer ranks, got {ranks!r:.60}") from None
    if arr.dtype.kind not in "iu" or arr.ndim != 1:
        raise InputTypeError(f"{name}: expected a 1-D sequence of integer ranks, got dtype {arr.dtype} "
                             f"with shape {arr.shape}")
    if arr.size == 0:
        raise InputError(f"{name}: expected at least one rank, got an empty list")
    if arr.min() < 1 or (upper is not None and arr.max() > upper):
        bound = f"1 <= r <= {upper}" if upper is not None else "r >= 1"
        raise InputError(f"{name}: expected ranks {bound}, got values in [{arr.min()}, {arr.max()}]")
    return list(ranks)


def _check_unit(name: str, unit) -> int:
    """``unit`` from ``unit_scale_sizes``: finite 1-D "frobenius" and "progress" of one length; returns it."""
    check_mapping(name, unit, ("frobenius", "progress"))
    fro = as_array(f"{name}['frobenius']", unit["frobenius"], ndim=1)
    prog = as_array(f"{name}['progress']", unit["progress"], ndim=1)
    if fro.shape != prog.shape:
        raise InputError(f"{name}['progress']: expected shape {fro.shape} (that of {name}['frobenius']), "
                         f"got {prog.shape}")
    return fro.shape[0]


def unit_scale_sizes(setup: OneStepSetup, ranks: Iterable[int], lr: float = 0.01,
                     optimizer: Literal["sgd", "adam"] = "sgd") -> dict[str, np.ndarray]:
    """{"frobenius": (len(ranks),), "progress": (len(ranks),)} of the first step at scale 1 (the slow part:
    len(ranks) * draws small matrix products; every scale and alpha follows by ``rescale_sizes``)."""
    check_instance("setup", setup, OneStepSetup)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_number("lr", lr, minimum=0)
    ranks = _rank_list("ranks", ranks, setup.A_pool.shape[1])
    bases = [_sizes_at_unit_scale(setup, r, lr, optimizer) for r in ranks]
    return {"frobenius": np.array([b.frobenius for b in bases]), "progress": np.array([b.progress for b in bases])}


def rescale_sizes(unit: dict[str, np.ndarray], ranks: Iterable[int], alpha: float,
                  optimizer: Literal["sgd", "adam"] = "sgd") -> dict[str, dict[str, np.ndarray]]:
    """For each scaling in ``SCALINGS``, the sizes of ``unit`` (from ``unit_scale_sizes``, same ranks) at that
    scaling's scale: {"frobenius": (len(ranks),), "progress": (len(ranks),)}. Microseconds: no matrix work."""
    check_choice("optimizer", optimizer, OPTIMIZERS)
    n = _check_unit("unit", unit)
    ranks = _rank_list("ranks", ranks)
    check_alpha(alpha)
    if len(ranks) != n:
        raise InputError(f"ranks: expected {n} ranks (those of unit), got {len(ranks)}")
    out: dict[str, dict[str, np.ndarray]] = {}
    for scaling in SCALINGS:
        factors = np.array([_step_factor(scale_for(scaling, r, alpha), optimizer) for r in ranks])
        out[scaling] = {"frobenius": factors * unit["frobenius"], "progress": factors * unit["progress"]}
    return out


def size_limits(units: dict[str, dict[str, np.ndarray]], ranks: Iterable[int], alphas: Iterable[float],
                pad: float = 1.5) -> dict[str, tuple[float, float]]:
    """Fixed log-axis limits {"frobenius": (lo, hi), "progress": (lo, hi)} covering every optimizer in ``units``
    (optimizer -> ``unit_scale_sizes``), scaling and alpha in ``alphas``, widened by the factor ``pad``.

    The sizes are monotonic in alpha, so the smallest and largest alpha bound them; non-positive sizes
    (which a log axis cannot show) are left out."""
    check_mapping("units", units)
    if not units:
        raise InputError("units: expected at least one optimizer's unit_scale_sizes, got an empty dict")
    ranks = _rank_list("ranks", ranks)
    for optimizer, unit in units.items():      # one per optimizer
        if optimizer not in OPTIMIZERS:
            raise InputError(f"units: expected optimizer names {OPTIMIZERS} as keys, got {optimizer!r}")
        if _check_unit(f"units[{optimizer!r}]", unit) != len(ranks):
            raise InputError(f"ranks: expected {len(unit['frobenius'])} ranks (those of units[{optimizer!r}]), "
                             f"got {len(ranks)}")
    if not isinstance(alphas, np.ndarray):
        check_sequence("alphas", alphas)
    alpha_values = as_array("alphas", alphas, ndim=1, allow_empty=False)
    if alpha_values.min() <= 0:
        raise InputError(f"alphas: expected numbers > 0, got a minimum of {alpha_values.min()}")
    check_number("pad", pad, minimum=1, strict=False, what="a widening factor")
    alphas = [min(alphas), max(alphas)]
    limits = {}
    for metric in ("frobenius", "progress"):
        values = np.concatenate([curves[metric] for optimizer, unit in units.items() for alpha in alphas
                                 for curves in rescale_sizes(unit, ranks, alpha, optimizer).values()])
        values = values[values > 0]
        if values.size == 0:
            raise ValueError(f"units: no positive {metric} value to put on a log axis")
        limits[metric] = (float(values.min()) / pad, float(values.max()) * pad)
    return limits


def update_size_curves(setup: OneStepSetup, ranks: Iterable[int], alpha: float, lr: float = 0.01,
                       optimizer: Literal["sgd", "adam"] = "sgd") -> dict[str, dict[str, np.ndarray]]:
    """For each scaling in ``SCALINGS``: {"frobenius": (len(ranks),), "progress": (len(ranks),)}.

    Each rank's step is computed once at scale 1 and rescaled (see ``_step_factor``), so the cost is
    len(ranks) * draws small matrix products.
    """
    ranks = list(check_sequence("ranks", ranks)) if not isinstance(ranks, np.ndarray) else ranks.tolist()
    if not ranks:
        raise InputError("ranks: expected at least one rank, got an empty list")
    check_alpha(alpha)
    for r in ranks:
        _check_common(setup, r, lr, optimizer, name="ranks")
    return rescale_sizes(unit_scale_sizes(setup, ranks, lr, optimizer), ranks, alpha, optimizer)
