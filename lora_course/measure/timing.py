"""Timing variants side by side on a shared, busy machine.

Every round runs each variant once, in a fresh random order, so a burst of load hits them all alike.
The statistic is the per-round ratio ``t_variant / t_baseline`` (load that slows one round slows both
halves of its ratio), summarised by its median with a batch-means interval over consecutive rounds
(``lora_course.measure.intervals.batch_median``). ``time_until_resolved`` adds rounds until every interval is
narrow enough or a budget is spent: seconds of this thread's CPU time (what the rounds cost, so a busy
machine that gives the thread a third of a core still gets the rounds a verdict needs) capped by seconds of
wall-clock time (so no load can stretch the wait without bound). ``compare`` does the same with BLAS pinned
to one thread and returns a ``Comparison`` that says, in words, how sure each result is, which clock it
used, and whether it has the rounds a verdict needs.

``measure(fn)`` times one call (``lora_course.measure.clocks``): ``thread_cpu_clock`` for claims about
compute, ``wall_clock`` (the default here) for claims about waiting, or a GPU's clock built on CUDA events.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import numpy as np

from lora_course.measure.budget import timing_cap
from lora_course.measure.clocks import Measure as Measure  # re-exported: callers import it from here
from lora_course.measure.clocks import _fast_clock, clock_name, thread_cpu_clock, wall_clock
from lora_course.measure.comparison import Comparison as Comparison  # re-exported: callers import it from here
from lora_course.measure.comparison import certainty as certainty
from lora_course.measure.intervals import BATCHES, MIN_SAMPLES, Interval, batch_median, unbounded
from lora_course.measure.intervals import bootstrap_median as bootstrap_median  # re-exported for older callers
from lora_course.validation import (
    InputError,
    InputTypeError,
    as_array,
    check_callable,
    check_choice,
    check_int,
    check_number,
    check_open_interval,
    check_positive_int,
    check_rng,
)


def _no_op() -> None:
    """What ``measure`` is asked whether it can time (its signature only; nothing is called)."""


def _check_variants(variants: Mapping[str, Callable[[], object]]) -> list[str]:
    if not isinstance(variants, Mapping):
        raise InputTypeError(f"variants: expected a non-empty mapping of name -> function, got "
                             f"{type(variants).__name__}")
    if not variants:
        raise InputError("variants: expected a non-empty mapping of name -> function, got an empty one")
    for name, fn in variants.items():
        if not callable(fn):
            raise InputTypeError(f"variants[{name!r}]: expected a function to time, got {type(fn).__name__}")
    return list(variants)


MAX_WARMUP = 10_000


def _check_optional_callable(name: str, f, args: tuple) -> None:
    if f is not None:
        check_callable(name, f, args)


def _check_mapping_of_times(times) -> None:
    if not isinstance(times, Mapping):
        raise InputTypeError(f"times: expected a mapping of name -> seconds per round, got {type(times).__name__}")
    if not times:
        raise InputError("times: expected the timings of at least the baseline, got an empty mapping")


def _seconds(samples: list) -> np.ndarray:
    """One variant's measured seconds as a (rounds,) float array; what ``measure`` returned is checked here,
    once after the loop, never per call."""
    try:
        t = np.array(samples)
    except (TypeError, ValueError):            # ragged arrays
        t = np.array(samples, dtype=object)
    if t.dtype.kind not in "iuf":
        first = next((x for x in samples if not isinstance(x, (int, float, np.integer, np.floating))), samples[0])
        raise InputTypeError(f"measure: expected a function returning seconds (one number per call), got "
                             f"{type(first).__name__}")
    t = t.astype(float, copy=False)
    if t.ndim != 1:
        raise InputError(f"measure: expected one number per call, got values of shape {t.shape[1:]}")
    if not np.isfinite(t).all():
        raise InputError(f"measure: expected finite seconds from every call, got "
                         f"{int(t.size - np.count_nonzero(np.isfinite(t)))} NaN/inf")
    return t


def _one_round(variants, names, rng, clock, samples) -> None:
    for j in rng.permutation(len(names)):                # a fresh random order every round
        samples[names[j]].append(clock(variants[names[j]]))


def _time_rounds(variants: Mapping[str, Callable[[], object]], names: list[str], rounds: int,
                 rng: np.random.Generator, warmup: int, measure: Measure) -> dict[str, np.ndarray]:
    """``time_rounds`` without the entry checks (its callers checked every argument once)."""
    clock = _fast_clock(measure)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    samples: dict[str, list] = {name: [] for name in names}
    for _ in range(rounds):
        _one_round(variants, names, rng, clock, samples)
    return {name: _seconds(samples[name]) for name in names}


def time_rounds(variants: Mapping[str, Callable[[], object]], rounds: int, *, rng: np.random.Generator,
                warmup: int = 1, measure: Measure = wall_clock) -> dict[str, np.ndarray]:
    """Seconds per call of every variant, shape (rounds,) each; each round runs all variants in random order;
    ``measure(fn)`` times one call (``lora_course.measure.clocks``, or a GPU's clock built on CUDA events)."""
    names = _check_variants(variants)
    rounds = check_positive_int("rounds", rounds)
    rng = check_rng(rng)
    warmup = check_int("warmup", warmup, 0, MAX_WARMUP)
    check_callable("measure", measure, (_no_op,))
    return _time_rounds(variants, names, rounds, rng, warmup, measure)


def ratio_intervals(times: Mapping[str, np.ndarray], baseline: str, *, rng: np.random.Generator,
                    n_boot: int = 2000, level: float = 0.95) -> dict[str, Interval]:
    """For each variant, the median over rounds of ``t_variant / t_baseline`` with its batch-means interval
    (``batch_median``; rounds in the order they were timed; at least ``MIN_SAMPLES`` rounds). ``rng`` and
    ``n_boot`` are checked and kept for callers; the interval resamples nothing."""
    _check_mapping_of_times(times)
    check_choice("baseline", baseline, times)
    rng = check_rng(rng)
    n_boot = check_positive_int("n_boot", n_boot)
    level = check_open_interval("level", level, 0, 1)
    base = np.asarray(as_array(f"times[{baseline!r}]", times[baseline], ndim=1, allow_empty=False), dtype=float)
    if not np.all(base != 0):
        raise InputError(f"times[{baseline!r}]: expected non-zero seconds (every ratio divides by them), got "
                         f"{int(np.count_nonzero(base == 0))} zeros")
    if base.size < MIN_SAMPLES:
        raise InputError(f"times[{baseline!r}]: expected at least {MIN_SAMPLES} rounds for an interval, "
                         f"got {base.size}")
    checked = {}
    for name, t in times.items():
        t = np.asarray(as_array(f"times[{name!r}]", t, ndim=1), dtype=float)
        if t.shape != base.shape:
            raise InputError(f"times[{name!r}]: expected shape {base.shape} like the baseline, got {t.shape}")
        checked[name] = t
    return {name: batch_median(t / base, level=level) for name, t in checked.items()}


def _intervals(times: dict[str, np.ndarray], baseline: str, rng: np.random.Generator) -> dict[str, Interval]:
    """``ratio_intervals``, or unbounded intervals while there are too few rounds for one."""
    n = len(times[baseline])
    if n >= max(MIN_SAMPLES, BATCHES):
        return ratio_intervals(times, baseline, rng=rng)
    base = times[baseline]
    return {name: unbounded(float(np.median(t / base)) if n else 1.0, n or None) for name, t in times.items()}


def time_until_resolved(variants: Mapping[str, Callable[[], object]], baseline: str, *, rng: np.random.Generator,
                        min_rounds: int = 10, max_rounds: int = 200, target_halfwidth: float = 0.02,
                        max_seconds: float = 10.0, batch: int = 10, measure: Measure = wall_clock,
                        progress: Callable[[int], None] | None = None, max_cpu_seconds: float | None = None,
                        ) -> tuple[dict[str, np.ndarray], dict[str, Interval]]:
    """Add rounds until at least ``min_rounds`` are in and every ratio interval's half-width is below
    ``target_halfwidth`` (checked every ``batch`` rounds), or ``max_rounds`` rounds, ``max_cpu_seconds`` of
    this thread's CPU time (None: no such budget) or ``max_seconds`` of wall-clock time are spent (both
    at most ``LORA_COURSE_TIMING_CAP`` where the environment sets it, see ``measure.budget``; checked after
    every round; the CPU budget is what the rounds cost, the wall-clock one a cap on the wait
    that a busy machine cannot stretch; a run cut short may have fewer than ``min_rounds`` rounds). Returns
    the times and the intervals; with fewer than ``MIN_SAMPLES`` rounds the intervals are unbounded."""
    names = _check_variants(variants)
    check_choice("baseline", baseline, names)
    rng = check_rng(rng)
    min_rounds = check_positive_int("min_rounds", min_rounds)
    max_rounds = check_positive_int("max_rounds", max_rounds)
    batch = check_positive_int("batch", batch)
    if max_rounds < min_rounds:
        raise InputError(f"max_rounds: expected >= min_rounds = {min_rounds}, got {max_rounds}")
    target_halfwidth = check_number("target_halfwidth", target_halfwidth, minimum=0, strict=False)
    cap = timing_cap()                                    # LORA_COURSE_TIMING_CAP (measure.budget), else +inf
    max_seconds = min(check_number("max_seconds", max_seconds, minimum=0, strict=False), cap)
    cpu_budget = min(_check_cpu_seconds(max_cpu_seconds), cap)
    check_callable("measure", measure, (_no_op,))
    _check_optional_callable("progress", progress, (0,))
    clock = _fast_clock(measure)
    start, cpu_start = time.perf_counter(), time.thread_time()
    for name in names:                                    # warm-up: caches, first-call allocations
        variants[name]()
    samples: dict[str, list] = {name: [] for name in names}
    done = 0
    while True:
        _one_round(variants, names, rng, clock, samples)
        done += 1
        out_of_budget = (done >= max_rounds or time.perf_counter() - start >= max_seconds
                         or time.thread_time() - cpu_start >= cpu_budget)
        if out_of_budget or (done >= min_rounds and (done - min_rounds) % batch == 0):
            if progress is not None:
                progress(done)
            times = {n: _seconds(samples[n]) for n in names}
            intervals = _intervals(times, baseline, rng)
            narrow = done >= min_rounds and all(iv.halfwidth <= target_halfwidth for iv in intervals.values())
            if narrow or out_of_budget:
                return times, intervals


def _check_cpu_seconds(max_cpu_seconds) -> float:
    """``max_cpu_seconds`` as a number >= 0, or +inf for None (no CPU-time budget)."""
    if max_cpu_seconds is None:
        return float("inf")
    return check_number("max_cpu_seconds", max_cpu_seconds, minimum=0, strict=False)


def compare(variants: Mapping[str, Callable[[], object]], baseline: str, *, rng: np.random.Generator,
            threads: int | None = 1, min_rounds: int = 10, max_rounds: int = 200, target_halfwidth: float = 0.02,
            max_seconds: float = 10.0, batch: int = 10, measure: Measure = wall_clock,
            progress: Callable[[int], None] | None = None, control: str | None = None,
            max_cpu_seconds: float | None = None) -> Comparison:
    """``time_until_resolved`` with BLAS pinned to ``threads`` (None: leave as configured) and glibc keeping
    freed memory (``measure.allocator.keep_freed_memory``), as a ``Comparison``. ``control`` names a variant
    that is a copy of the baseline (an A/A control), or None. ``thread_cpu_clock`` needs ``threads=1``."""
    from contextlib import nullcontext

    from lora_course.measure.allocator import keep_freed_memory
    from lora_course.measure.blas_threads import blas_threads

    names = _check_variants(variants)                     # every argument checked before BLAS is pinned
    check_choice("baseline", baseline, names)
    rng = check_rng(rng)
    threads = None if threads is None else check_positive_int("threads", threads)
    for name, value in (("min_rounds", min_rounds), ("max_rounds", max_rounds), ("batch", batch)):
        check_positive_int(name, value)
    if max_rounds < min_rounds:
        raise InputError(f"max_rounds: expected >= min_rounds = {min_rounds}, got {max_rounds}")
    check_number("target_halfwidth", target_halfwidth, minimum=0, strict=False)
    check_number("max_seconds", max_seconds, minimum=0, strict=False)
    _check_cpu_seconds(max_cpu_seconds)
    check_callable("measure", measure, (_no_op,))
    if measure is thread_cpu_clock and threads != 1:
        raise InputError(f"threads: thread CPU time counts this thread only; expected threads=1 with "
                         f"thread_cpu_clock, got {threads}")
    _check_optional_callable("progress", progress, (0,))
    if control is not None:
        check_choice("control", control, [n for n in names if n != baseline])
    steady = keep_freed_memory()
    start, cpu_start = time.perf_counter(), time.thread_time()
    with blas_threads(threads) if threads else nullcontext():
        times, ratios = time_until_resolved(variants, baseline, rng=rng, min_rounds=min_rounds,
                                            max_rounds=max_rounds, target_halfwidth=target_halfwidth,
                                            max_seconds=max_seconds, batch=batch, measure=measure,
                                            progress=progress, max_cpu_seconds=max_cpu_seconds)
    return Comparison(baseline, times, ratios, time.perf_counter() - start, target_halfwidth, threads, steady,
                      clock_name(measure), min_rounds, control, time.thread_time() - cpu_start)


def repeated(fn: Callable[[], object], number: int) -> Callable[[], None]:
    """A function that calls ``fn`` ``number`` times: time calls of microseconds in batches the clock resolves."""
    check_callable("fn", fn)
    number = check_positive_int("number", number)

    def run() -> None:
        for _ in range(number):
            fn()
    return run
