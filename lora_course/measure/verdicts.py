"""Verdicts on measured claims: *holds*, *does not hold*, or *not resolved at this noise level*.

A claim compares an interval (from ``timing`` or from seeds) with a threshold. The verdict is decided
by where the whole interval lies, so noise can only turn a verdict into "not resolved", never flip it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from ..validation import check_positive_int, check_rng
from .timing import Interval


class Verdict(str, Enum):
    HOLDS = "holds"
    FAILS = "does not hold"
    UNRESOLVED = "not resolved at this noise level"

    def __str__(self) -> str:
        return self.value


def above(interval: Interval, threshold: float) -> Verdict:
    """Claim: the quantity is greater than ``threshold``."""
    if interval.lo > threshold:
        return Verdict.HOLDS
    if interval.hi <= threshold:
        return Verdict.FAILS
    return Verdict.UNRESOLVED


def below(interval: Interval, threshold: float) -> Verdict:
    """Claim: the quantity is smaller than ``threshold``."""
    if interval.hi < threshold:
        return Verdict.HOLDS
    if interval.lo >= threshold:
        return Verdict.FAILS
    return Verdict.UNRESOLVED


def within(interval: Interval, target: float, tolerance: float) -> Verdict:
    """Claim: the quantity is within ``tolerance`` of ``target`` (e.g. merged / frozen = 1.00 +- 0.05)."""
    if tolerance <= 0:
        raise ValueError(f"tolerance: expected a number > 0, got {tolerance!r}")
    if target - tolerance <= interval.lo and interval.hi <= target + tolerance:
        return Verdict.HOLDS
    if interval.hi < target - tolerance or interval.lo > target + tolerance:
        return Verdict.FAILS
    return Verdict.UNRESOLVED


def bootstrap_mean_difference(a, b, *, rng: np.random.Generator, paired: bool = True, n_boot: int = 2000,
                              level: float = 0.95) -> Interval:
    """Mean of ``a - b`` (paired by index, e.g. by seed) or of ``mean(a) - mean(b)``, with a bootstrap interval."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 1 or b.ndim != 1 or a.size == 0 or b.size == 0:
        raise ValueError(f"a, b: expected non-empty 1-D samples, got shapes {a.shape} and {b.shape}")
    if paired and a.shape != b.shape:
        raise ValueError(f"b: expected shape {a.shape} to pair with a, got {b.shape}")
    rng = check_rng(rng)
    n_boot = check_positive_int("n_boot", n_boot)
    if paired:
        diff = a - b
        boots = diff[rng.integers(0, diff.size, size=(n_boot, diff.size))].mean(axis=1)
        estimate = float(diff.mean())
    else:
        boots = (a[rng.integers(0, a.size, size=(n_boot, a.size))].mean(axis=1)
                 - b[rng.integers(0, b.size, size=(n_boot, b.size))].mean(axis=1))
        estimate = float(a.mean() - b.mean())
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(boots, [tail, 100 - tail])
    return Interval(estimate, float(lo), float(hi), level)


@dataclass(frozen=True)
class Claim:
    """One claim of a lesson with its computed verdict and the interval it rests on."""

    text: str
    verdict: Verdict
    interval: Interval
    unit: str = ""

    def line(self) -> str:
        iv = self.interval
        return f"{self.text}: {self.verdict} (estimate {iv.estimate:.3g}{self.unit}, " \
               f"{100 * iv.level:.0f} % interval [{iv.lo:.3g}, {iv.hi:.3g}]{self.unit})"


def format_claims(claims: list[Claim]) -> str:
    """One line per claim, for printing in a notebook or a command's output."""
    return "\n".join(c.line() for c in claims)
