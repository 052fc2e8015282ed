"""What repeated in-place task switching does to low-precision weights, and a way that does not drift.

Switching with W <- W + (Delta W_new - Delta W_old) rounds W once per switch, so after N switches W has
collected N rounding errors. ``MergedWeight`` rebuilds W from the untouched W0 each time, so its error
stays that of a single merge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lora_course.merge import Adapter, MergedWeight, merge, merged_delta, switch
from lora_course.validation import (
    InputError,
    as_array,
    as_ints,
    check_adapter,
    check_instance,
    check_int,
    check_positive_int,
    check_rng,
    check_sequence,
    check_shape,
)


@dataclass(frozen=True)
class DriftResult:
    """Max |W - (W0 + Delta W_active)| after each checkpointed number of switches, for both methods."""

    n_switches: np.ndarray        # (m,) checkpoints, increasing
    in_place_error: np.ndarray    # (m,) repeated ``switch`` on one weight
    rebuilt_error: np.ndarray     # (m,) ``MergedWeight.switch_to``


def log_checkpoints(n_max: int, per_decade: int = 4) -> np.ndarray:
    """Distinct integers from 1 to n_max, about ``per_decade`` per factor of 10 (for log axes)."""
    n_max = check_positive_int("n_max", n_max)
    per_decade = check_positive_int("per_decade", per_decade)
    n_points = int(np.ceil(np.log10(n_max) * per_decade)) + 1
    return np.unique(np.round(np.logspace(0, np.log10(n_max), n_points)).astype(int))


def switching_drift(W0: np.ndarray, adapters: Sequence[Adapter], checkpoints: Sequence[int],
                    rng: np.random.Generator, dtype=np.float32) -> DriftResult:
    """Serve ``adapters`` in a random order (never the same one twice in a row) with weights in ``dtype``.

    W0 (d, k) and the adapters are first rounded to ``dtype``; the reference after each switch is
    W0 + scale B A of the active adapter computed exactly (float64) from those rounded values, so the
    only errors measured are the ones the serving arithmetic adds. The first merge is not a switch.
    """
    check_rng(rng)
    try:
        kind = np.dtype(dtype).kind
    except TypeError:
        kind = ""
    if kind != "f":
        raise InputError(f"dtype: expected a float dtype such as np.float32, got {dtype!r}")
    W0 = as_array("W0", W0, ndim=2).astype(dtype)
    adapters = check_sequence("adapters", adapters)
    if len(adapters) < 2:
        raise InputError(f"adapters: expected at least 2 adapters to switch between, got {len(adapters)}")
    adapters = [Adapter(*check_adapter(f"adapters[{i}]", ad)) for i, ad in enumerate(adapters)]   # plain tuples too
    for i, (A, B, _) in enumerate(adapters):
        check_shape(f"adapters[{i}].A", A, (None, W0.shape[1]), f"= (r, k) with k = W0.shape[1] = {W0.shape[1]}")
        check_shape(f"adapters[{i}].B", B, (W0.shape[0], None), f"= (d, r) with d = W0.shape[0] = {W0.shape[0]}")
    points = as_ints("checkpoints", checkpoints)
    if (points.dtype.kind not in "iu" or points.ndim != 1 or points.size == 0 or np.any(points < 1)
            or np.any(np.diff(points) <= 0)):
        raise InputError(f"checkpoints: expected increasing integers >= 1, got {points.tolist()!r}")
    low = [Adapter(ad.A.astype(dtype), ad.B.astype(dtype), ad.scale) for ad in adapters]
    exact = [W0.astype(np.float64) + merged_delta(ad.A.astype(np.float64), ad.B.astype(np.float64), ad.scale)
             for ad in low]
    W = merge(W0, low[0])
    served = MergedWeight(W0)
    in_place, rebuilt = [], []
    active, wanted = 0, set(points.tolist())
    for n in range(1, int(points[-1]) + 1):
        nxt = (active + 1 + int(rng.integers(len(low) - 1))) % len(low)
        W = switch(W, low[active], low[nxt])
        served.switch_to(low[nxt])
        active = nxt
        if n in wanted:
            in_place.append(np.max(np.abs(W - exact[active])))
            rebuilt.append(np.max(np.abs(served.W - exact[active])))
    return DriftResult(points.astype(int), np.array(in_place), np.array(rebuilt))


def growth_exponent(result: DriftResult, start: int = 10) -> float:
    """Slope of log(error) against log(N) for the in-place errors at N >= start (0.5: random walk, 1: linear)."""
    check_instance("result", result, DriftResult)
    start = check_int("start", start, 1)
    keep = (result.n_switches >= start) & (result.in_place_error > 0)
    if keep.sum() < 2:
        raise InputError(f"start: expected at least 2 checkpoints >= {start} with non-zero error, "
                         f"got {int(keep.sum())}")
    slope, _ = np.polyfit(np.log(result.n_switches[keep]), np.log(result.in_place_error[keep]), 1)
    return float(slope)
