"""Timing variants side by side on a shared, busy machine.

Every round runs each variant once, in a fresh random order, so a burst of load hits them all alike.
The statistic is the per-round ratio ``t_variant / t_baseline`` (load that slows one round slows both
halves of its ratio), summarised by its median with a bootstrap confidence interval over rounds.
``time_until_resolved`` adds rounds until every interval is narrow enough or a budget is spent;
``compare`` does the same with BLAS pinned to one thread and returns a ``Comparison`` that says, in
words, how sure each result is.

``measure(fn)`` times one call; the default is the wall clock. A GPU passes a function built on CUDA
events (the torch appendix does), which keeps every other piece of this module unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from lora_course.validation import check_positive_int, check_rng

Measure = Callable[[Callable[[], object]], float]


def wall_clock(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes, by ``time.perf_counter``."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _check_variants(variants: Mapping[str, Callable[[], object]]) -> list[str]:
    if not isinstance(variants, Mapping) or not variants:
        raise ValueError(f"variants: expected a non-empty mapping of name -> function, got {variants!r}")
    for name, fn in variants.items():
        if not callable(fn):
            raise TypeError(f"variants[{name!r}]: expected a function to time, got {type(fn).__name__}")
    return list(variants)


def time_rounds(variants: Mapping[str, Callable[[], object]], rounds: int, *, rng: np.random.Generator,
                warmup: int = 1, measure: Measure = wall_clock) -> dict[str, np.ndarray]:
    """Seconds per call of every variant, shape (rounds,) each; each round runs all variants in random order.

    ``measure(fn)`` times one call (the default is wall-clock; a GPU passes one built on CUDA events).
    """
    names = _check_variants(variants)
    rounds = check_positive_int("rounds", rounds)
    rng = check_rng(rng)
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup: expected an integer >= 0, got {warmup!r}")
    for _ in range(warmup):
        for name in names:
            variants[name]()
    times = {name: np.empty(rounds) for name in names}
    for i in range(rounds):
        for j in rng.permutation(len(names)):
            times[names[j]][i] = measure(variants[names[j]])
    return times


@dataclass(frozen=True)
class Interval:
    """A point estimate with a confidence interval [lo, hi] at ``level`` (0.95 = 95 %)."""

    estimate: float
    lo: float
    hi: float
    level: float = 0.95

    @property
    def halfwidth(self) -> float:
        return (self.hi - self.lo) / 2

    def contains(self, x: float) -> bool:
        return self.lo <= x <= self.hi

    def as_percent_overhead(self) -> str:
        """'+4.1 % [+2.0, +6.3]' for a ratio interval."""
        e, lo, hi = (100 * (v - 1) for v in (self.estimate, self.lo, self.hi))
        return f"{e:+.1f} % [{lo:+.1f}, {hi:+.1f}]"

    def as_ratio(self) -> str:
        """'1.04 [1.02, 1.06]'."""
        return f"{self.estimate:.2f} [{self.lo:.2f}, {self.hi:.2f}]"


def bootstrap_median(x, *, rng: np.random.Generator, n_boot: int = 2000, level: float = 0.95) -> Interval:
    """Median of a 1-D sample with a percentile-bootstrap interval."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError(f"x: expected a non-empty 1-D array of finite values, got shape {x.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level: expected a number in (0, 1), got {level!r}")
    rng = check_rng(rng)
    n_boot = check_positive_int("n_boot", n_boot)
    resamples = np.median(x[rng.integers(0, x.size, size=(n_boot, x.size))], axis=1)
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(resamples, [tail, 100 - tail])
    return Interval(float(np.median(x)), float(lo), float(hi), level)


def ratio_intervals(times: Mapping[str, np.ndarray], baseline: str, *, rng: np.random.Generator,
                    n_boot: int = 2000, level: float = 0.95) -> dict[str, Interval]:
    """For each variant, the median over rounds of ``t_variant / t_baseline`` with its bootstrap interval."""
    if baseline not in times:
        raise ValueError(f"baseline: expected one of {sorted(times)}, got {baseline!r}")
    base = np.asarray(times[baseline], dtype=float)
    out = {}
    for name, t in times.items():
        t = np.asarray(t, dtype=float)
        if t.shape != base.shape:
            raise ValueError(f"times[{name!r}]: expected shape {base.shape} like the baseline, got {t.shape}")
        out[name] = bootstrap_median(t / base, rng=rng, n_boot=n_boot, level=level)
    return out


def time_until_resolved(variants: Mapping[str, Callable[[], object]], baseline: str, *, rng: np.random.Generator,
                        min_rounds: int = 10, max_rounds: int = 200, target_halfwidth: float = 0.02,
                        max_seconds: float = 10.0, batch: int = 10, measure: Measure = wall_clock,
                        progress: Callable[[int], None] | None = None,
                        ) -> tuple[dict[str, np.ndarray], dict[str, Interval]]:
    """Add rounds (``batch`` at a time) until every ratio interval's half-width is below ``target_halfwidth``,
    or ``max_rounds`` rounds or ``max_seconds`` of timing are spent. Returns the times and the intervals."""
    names = _check_variants(variants)
    if baseline not in names:
        raise ValueError(f"baseline: expected one of {names}, got {baseline!r}")
    min_rounds = check_positive_int("min_rounds", min_rounds)
    max_rounds = check_positive_int("max_rounds", max_rounds)
    batch = check_positive_int("batch", batch)
    if max_rounds < min_rounds:
        raise ValueError(f"max_rounds: expected >= min_rounds = {min_rounds}, got {max_rounds}")
    start = time.perf_counter()
    chunks = [time_rounds(variants, min_rounds, rng=rng, measure=measure)]
    while True:
        times = {n: np.concatenate([c[n] for c in chunks]) for n in names}
        intervals = ratio_intervals(times, baseline, rng=rng)
        done = len(times[baseline])
        if progress is not None:
            progress(done)
        narrow = all(iv.halfwidth <= target_halfwidth for iv in intervals.values())
        if narrow or done >= max_rounds or time.perf_counter() - start >= max_seconds:
            return times, intervals
        chunks.append(time_rounds(variants, min(batch, max_rounds - done), rng=rng, warmup=0, measure=measure))


def certainty(interval: Interval, target_halfwidth: float) -> str:
    """How sure a ratio is, in words: '±1.2 %: resolved to the ±2 % asked for' or '... wider than asked'."""
    pm = 100 * interval.halfwidth
    asked = 100 * target_halfwidth
    if interval.halfwidth <= target_halfwidth:
        return f"±{pm:.1f} %: resolved to the ±{asked:g} % asked for"
    return f"±{pm:.1f} %: wider than the ±{asked:g} % asked for (busy machine or too few rounds)"


@dataclass
class Comparison:
    """Variants timed against ``baseline``: raw seconds (rounds,) each, ratio intervals, and the budget used."""

    baseline: str
    times: dict[str, np.ndarray]
    ratios: dict[str, Interval]
    seconds: float
    target_halfwidth: float
    threads: int | None

    @property
    def rounds(self) -> int:
        return len(self.times[self.baseline])

    @property
    def resolved(self) -> bool:
        """Every ratio interval at least as narrow as asked for."""
        return all(iv.halfwidth <= self.target_halfwidth for iv in self.ratios.values())

    def median_seconds(self, name: str) -> float:
        return float(np.median(self.times[name]))

    def ratio_between(self, name: str, other: str, *, rng: np.random.Generator) -> Interval:
        """Median over rounds of ``t_name / t_other`` (both timed in the same rounds) with its interval."""
        for n in (name, other):
            if n not in self.times:
                raise ValueError(f"name: expected one of {sorted(self.times)}, got {n!r}")
        return bootstrap_median(self.times[name] / self.times[other], rng=rng)

    def statement(self) -> str:
        """One line on how sure the ratios are."""
        worst = max(iv.halfwidth for n, iv in self.ratios.items() if n != self.baseline) \
            if len(self.ratios) > 1 else 0.0
        blas = f"BLAS threads {self.threads}" if self.threads else "BLAS threads as configured"
        verdict = "every interval within" if self.resolved else "some intervals wider than"
        return (f"{self.rounds} interleaved rounds in {self.seconds:.1f} s, {blas}; widest 95 % interval "
                f"±{100 * worst:.1f} %: {verdict} the ±{100 * self.target_halfwidth:g} % asked for")


def compare(variants: Mapping[str, Callable[[], object]], baseline: str, *, rng: np.random.Generator,
            threads: int | None = 1, min_rounds: int = 10, max_rounds: int = 200, target_halfwidth: float = 0.02,
            max_seconds: float = 10.0, batch: int = 10, measure: Measure = wall_clock,
            progress: Callable[[int], None] | None = None) -> Comparison:
    """``time_until_resolved`` with BLAS pinned to ``threads`` (None: leave as configured), as a ``Comparison``."""
    from contextlib import nullcontext

    from lora_course.blas_threads import blas_threads

    if threads is not None:
        threads = check_positive_int("threads", threads)
    start = time.perf_counter()
    with blas_threads(threads) if threads else nullcontext():
        times, ratios = time_until_resolved(variants, baseline, rng=rng, min_rounds=min_rounds,
                                            max_rounds=max_rounds, target_halfwidth=target_halfwidth,
                                            max_seconds=max_seconds, batch=batch, measure=measure,
                                            progress=progress)
    return Comparison(baseline, times, ratios, time.perf_counter() - start, target_halfwidth, threads)


def repeated(fn: Callable[[], object], number: int) -> Callable[[], None]:
    """A function that calls ``fn`` ``number`` times: time calls of microseconds in batches the clock resolves."""
    number = check_positive_int("number", number)

    def run() -> None:
        for _ in range(number):
            fn()
    return run
