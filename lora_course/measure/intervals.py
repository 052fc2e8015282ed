"""Confidence intervals that check themselves, and the bootstrap that builds them from timing rounds.

An ``Interval`` refuses to exist when it cannot be one: a NaN or non-number bound, ``lo > hi``, an
estimate outside ``[lo, hi]`` or a level outside (0, 1). ``n`` records how many samples it rests on, so a
verdict can refuse to rest on too few (``lora_course.measure.verdicts.claim``).

``batch_median`` is the interval the timing claims use. It cuts the rounds, in the order they were timed, into
``BATCHES`` consecutive batches, takes each batch's median, and puts Student's t interval (``BATCHES - 1`` degrees
of freedom) around the mean of those medians: the method of batch means (Schmeiser 1982, *Batch size effects in
the analysis of simulation output*, Operations Research 30(3)). When the load of a shared machine drifts during
a run, the batch medians differ from each other, and the t interval widens with them; a few batches of many
rounds each stay nearly independent even when neighbouring rounds are not. In a simulation of drifting,
autocorrelated, heavy-tailed noise (``benchmarks/interval_coverage.py``) it covers the true ratio 95-98 % of
the time from 20 rounds up while neighbouring rounds correlate up to 0.3 (lesson 04's per-round ratios measured
-0.01 to 0.16), and 94-97 % at 0.5, where the block bootstrap below covered 80-90 %.

``bootstrap_median`` refuses fewer than ``min_samples`` values (a bootstrap of one value is a zero-width
interval that looks certain). It resamples **blocks of consecutive rounds** (a moving-block bootstrap,
Politis & Romano 1992); it is kept for callers that resample, but its percentile interval is too narrow
for a handful of rounds whose noise drifts.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from lora_course.validation import (
    InputError,
    InputTypeError,
    as_array,
    check_int,
    check_number,
    check_open_interval,
    check_positive_int,
    check_rng,
)

MIN_SAMPLES = 5       # no interval from fewer values
MAX_MAGNITUDE = 1e150  # a timing or ratio beyond this is no measurement, and its spread would overflow float64
MAX_DIGITS = 17       # float64 holds about 17 significant digits; more would only print noise (or exhaust memory)
MAX_BATCHES = 10_000
BATCHES = 5           # consecutive batches of rounds in ``batch_median`` (4 degrees of freedom for the t interval)


def _bound(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputTypeError(f"{name}: expected a number, got {type(value).__name__}")
    value = float(value)
    if math.isnan(value):
        raise InputError(f"{name}: expected a number, got NaN")
    return value


@dataclass(frozen=True)
class Interval:
    """A point estimate with a confidence interval [lo, hi] at ``level`` (0.95 = 95 %), from ``n`` samples.

    ``lo`` may be -inf and ``hi`` +inf (an interval that knows nothing); ``estimate`` is finite and lies in
    [lo, hi]; ``n`` is None when unknown.
    """

    estimate: float
    lo: float
    hi: float
    level: float = 0.95
    n: int | None = None

    def __post_init__(self) -> None:
        estimate, lo, hi = (_bound(k, getattr(self, k)) for k in ("estimate", "lo", "hi"))
        if not math.isfinite(estimate):
            raise InputError(f"estimate: expected a finite number, got {estimate}")
        if lo == math.inf or hi == -math.inf:
            raise InputError(f"lo, hi: expected lo < +inf and hi > -inf, got [{lo}, {hi}]")
        if lo > hi:
            raise InputError(f"lo: expected lo <= hi = {hi}, got {lo} (an inverted interval)")
        if not lo <= estimate <= hi:
            raise InputError(f"estimate: expected a value inside [lo, hi] = [{lo}, {hi}], got {estimate}")
        level = check_open_interval("level", self.level, 0, 1)
        n = None if self.n is None else check_positive_int("n", self.n)
        for k, v in (("estimate", estimate), ("lo", lo), ("hi", hi), ("level", level), ("n", n)):
            object.__setattr__(self, k, v)

    @property
    def halfwidth(self) -> float:
        return (self.hi - self.lo) / 2

    @property
    def bounded(self) -> bool:
        """Both ends finite."""
        return math.isfinite(self.lo) and math.isfinite(self.hi)

    def contains(self, x: float) -> bool:
        x = check_number("x", x)
        return self.lo <= x <= self.hi

    def as_percent_overhead(self, digits: int = 1) -> str:
        """'+4.1 % [+2.0, +6.3]' for a ratio interval (``digits`` after the point)."""
        digits = check_int("digits", digits, 0, MAX_DIGITS)
        e, lo, hi = (100 * (v - 1) for v in (self.estimate, self.lo, self.hi))
        return f"{e:+.{digits}f} % [{lo:+.{digits}f}, {hi:+.{digits}f}]"

    def as_ratio(self, digits: int = 2) -> str:
        """'1.04 [1.02, 1.06]' (``digits`` after the point)."""
        digits = check_int("digits", digits, 0, MAX_DIGITS)
        return f"{self.estimate:.{digits}f} [{self.lo:.{digits}f}, {self.hi:.{digits}f}]"


def unbounded(estimate: float, n: int | None = None, level: float = 0.95) -> Interval:
    """The interval of a quantity too few samples say anything about: [-inf, +inf] around ``estimate``."""
    return Interval(check_number("estimate", estimate), -math.inf, math.inf, level, n)


def block_length(n: int) -> int:
    """Rounds per resampled block for ``n`` rounds: about n ** (1/3), the usual order for a moving-block bootstrap."""
    n = check_positive_int("n", n)
    return max(1, round(n ** (1 / 3)))


def _check_sample(name: str, x, min_samples: int = MIN_SAMPLES) -> np.ndarray:
    """``x`` as a 1-D float array of finite values with at least ``min_samples`` entries, or InputError."""
    x = np.asarray(as_array(name, x), dtype=float)
    min_samples = check_positive_int("min_samples", min_samples)
    if x.ndim != 1:
        raise InputError(f"{name}: expected a 1-D array of finite values, got shape {x.shape}")
    if x.size < min_samples:
        raise InputError(f"{name}: expected at least {min_samples} values for an interval, got {x.size}")
    return _check_magnitude(name, x)


def _check_magnitude(name: str, x: np.ndarray) -> np.ndarray:
    """``x`` if every value is below ``MAX_MAGNITUDE`` in size (so its mean and spread stay finite), else raise."""
    big = float(np.max(np.abs(x))) if x.size else 0.0
    if big > MAX_MAGNITUDE:
        raise InputError(f"{name}: expected measured values below {MAX_MAGNITUDE:.0e} in magnitude (their spread "
                         f"would overflow), got {big:.3g}")
    return x


def _block_indices(n: int, block: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n) indices of circular-block resamples: runs of ``block`` consecutive rounds from random starts,
    wrapping from the last round to the first so that every round is drawn equally often (Politis & Romano 1992)."""
    block = min(block, n)
    k = -(-n // block)
    starts = rng.integers(0, n, size=(n_boot, k))
    return ((starts[:, :, None] + np.arange(block)) % n).reshape(n_boot, k * block)[:, :n]


def _percentile_interval(estimate: float, boots: np.ndarray, level: float, n: int) -> Interval:
    """The middle ``level`` of bootstrap replicates, widened if needed to contain ``estimate``."""
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(boots, [tail, 100 - tail])
    return Interval(float(estimate), float(min(lo, estimate)), float(max(hi, estimate)), level, n)


def bootstrap_median(x, *, rng: np.random.Generator, n_boot: int = 2000, level: float = 0.95,
                     block: int | None = None, min_samples: int = MIN_SAMPLES) -> Interval:
    """Median of a 1-D sample (e.g. one ratio per timing round, in round order) with a moving-block
    percentile-bootstrap interval; ``block`` rounds per block (None: ``block_length``; 1: independent rounds)."""
    x = _check_sample("x", x, min_samples)
    level = check_open_interval("level", level, 0, 1)
    rng = check_rng(rng)
    n_boot = check_positive_int("n_boot", n_boot)
    block = block_length(x.size) if block is None else check_int("block", block, 1)
    boots = np.median(x[_block_indices(x.size, block, n_boot, rng)], axis=1)
    return _percentile_interval(float(np.median(x)), boots, level, int(x.size))


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile (0.5 < p < 1) of Student's t with ``df`` degrees of freedom (numerical, no scipy)."""
    df = check_positive_int("df", df)
    p = check_open_interval("p", p, 0.5, 1, what="a probability")
    return _t_quantile(p, df)


@lru_cache(maxsize=256)
def _t_quantile(p: float, df: int) -> float:
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)

    def cdf(x: float) -> float:         # P(T <= x) for x >= 0, by Simpson's rule on the density
        xs = np.linspace(0.0, x, 4001)
        f = c * (1 + xs**2 / df) ** (-(df + 1) / 2)
        h = x / 4000
        return 0.5 + h / 3 * (f[0] + f[-1] + 4 * f[1:-1:2].sum() + 2 * f[2:-1:2].sum())

    lo, hi = 0.0, 1.0
    while cdf(hi) < p:
        lo, hi = hi, 2 * hi
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < p else (lo, mid)
    return (lo + hi) / 2


def _batch_medians(x: np.ndarray, batches: int) -> np.ndarray:
    """The medians of ``batches`` consecutive, near-equal batches of ``x`` (in the order it was taken)."""
    return np.array([np.median(part) for part in np.array_split(x, min(batches, x.size))])


def _check_batches(batches) -> int:
    return check_int("batches", batches, 2, MAX_BATCHES)


def batch_median(x, *, level: float = 0.95, batches: int = BATCHES, min_samples: int = MIN_SAMPLES) -> Interval:
    """Median of a 1-D sample taken in order (e.g. one ratio per timing round) with a batch-means interval:
    the mean of the medians of ``batches`` consecutive batches, plus or minus Student's t (``batches - 1``
    degrees of freedom) times their standard error; widened if needed to contain the median of all of ``x``.

    Deterministic (nothing is resampled). At least ``max(min_samples, batches)`` values are needed.
    """
    x = _check_sample("x", x, min_samples)
    level = check_open_interval("level", level, 0, 1)
    batches = _check_batches(batches)
    if x.size < batches:
        raise InputError(f"x: expected at least batches = {batches} values, one per batch, got {x.size}")
    m = _batch_medians(x, batches)
    half = _t_quantile(0.5 + level / 2, m.size - 1) * float(m.std(ddof=1)) / math.sqrt(m.size)
    center, estimate = float(m.mean()), float(np.median(x))
    return Interval(estimate, min(center - half, estimate), max(center + half, estimate), level, int(x.size))


def batch_median_difference(a, b, *, level: float = 0.95, batches: int = BATCHES,
                            min_samples: int = MIN_SAMPLES) -> Interval:
    """``median(a) - median(b)`` of two samples timed apart (e.g. the per-round ratios of two cases), with
    Welch's t interval on the difference of their mean batch medians (``batch_median``'s batches)."""
    a = _check_sample("a", a, min_samples)
    b = _check_sample("b", b, min_samples)
    level = check_open_interval("level", level, 0, 1)
    batches = _check_batches(batches)
    for name, x in (("a", a), ("b", b)):
        if x.size < batches:
            raise InputError(f"{name}: expected at least batches = {batches} values, one per batch, got {x.size}")
    ma, mb = _batch_medians(a, batches), _batch_medians(b, batches)
    va, vb = float(ma.var(ddof=1)) / ma.size, float(mb.var(ddof=1)) / mb.size
    se = math.sqrt(va + vb)
    if se > 0:                                           # Welch-Satterthwaite degrees of freedom
        df = max(1, math.floor((va + vb) ** 2 / (va**2 / (ma.size - 1) + vb**2 / (mb.size - 1))))
    else:
        df = ma.size + mb.size - 2
    half = _t_quantile(0.5 + level / 2, df) * se
    center, estimate = float(ma.mean() - mb.mean()), float(np.median(a) - np.median(b))
    return Interval(estimate, min(center - half, estimate), max(center + half, estimate), level,
                    int(min(a.size, b.size)))
