"""The clocks a timing can use, and which kind of claim each one answers.

``thread_cpu_clock`` counts the CPU time of the calling thread only (``time.thread_time_ns``): while
another process holds the core, this thread's clock stands still, so a claim about the *compute* of a
forward pass (numpy with BLAS pinned to one thread, which then runs in the calling thread) is measured
by it with little of the load around it. ``wall_clock`` counts elapsed time, waits included: the clock
for claims about how long a user or a request waits. A GPU passes a clock built on CUDA events.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from lora_course.validation import check_callable

Measure = Callable[[Callable[[], object]], float]


def _wall_clock(fn: Callable[[], object]) -> float:
    """``wall_clock`` without its entry check: the clock of the timing loops (their callers checked ``fn``)."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _thread_cpu_clock(fn: Callable[[], object]) -> float:
    """``thread_cpu_clock`` without its entry check."""
    start = time.thread_time_ns()
    fn()
    return (time.thread_time_ns() - start) * 1e-9


def wall_clock(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes, by ``time.perf_counter`` (elapsed time, waits for the CPU included)."""
    check_callable("fn", fn)
    return _wall_clock(fn)


def thread_cpu_clock(fn: Callable[[], object]) -> float:
    """CPU seconds this thread spends in one call of ``fn``, by ``time.thread_time_ns``.

    Time the thread spends waiting while other processes run is not counted. Work done in other threads
    (a multi-threaded BLAS) is not counted either: pin BLAS to one thread when timing with this clock.
    """
    check_callable("fn", fn)
    return _thread_cpu_clock(fn)


def _fast_clock(measure: Measure) -> Measure:
    """The unchecked twin of one of this module's clocks (any other clock is returned as it is)."""
    return {wall_clock: _wall_clock, thread_cpu_clock: _thread_cpu_clock}.get(measure, measure)


def clock_name(measure: Measure) -> str:
    """'thread CPU time', 'wall-clock time' or 'a custom clock': what a printed timing was measured with."""
    check_callable("measure", measure)
    if measure is thread_cpu_clock:
        return "thread CPU time"
    if measure is wall_clock:
        return "wall-clock time"
    return f"a custom clock ({getattr(measure, '__name__', type(measure).__name__)})"
