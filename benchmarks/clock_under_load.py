"""How much each clock moves when CPU-bound processes start in the middle of a run.

One fixed numpy workload (lesson 04's frozen block stack at batch 4 x 32, BLAS on one thread) is called
over and over; every call is timed by the wall clock (``time.perf_counter``) and by the thread's CPU time
(``time.thread_time_ns``) at once. After ``--quiet`` seconds, ``--extra`` processes that spin
(``while True: pass``) start, and the calls go on for ``--busy`` seconds. The script prints, per clock,
the median and the spread (interquartile range over the median) of a call before and after, and how far
the median moved. A benchmark: nothing is asserted.

    python benchmarks/clock_under_load.py --extra 4
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

from lora_course.measure.allocator import keep_freed_memory
from lora_course.measure.blas_threads import limit_blas_threads
from lora_course.toy.blocks import StackConfig, build_variants


def timed_calls(fn, seconds: float) -> np.ndarray:
    """(calls, 2): wall and thread-CPU seconds of each call, for ``seconds`` of wall time."""
    out, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        w, c = time.perf_counter(), time.thread_time_ns()
        fn()
        out.append((time.perf_counter() - w, (time.thread_time_ns() - c) * 1e-9))
    return np.array(out)


def summary(t: np.ndarray) -> tuple[float, float]:
    q1, med, q3 = np.percentile(t, [25, 50, 75])
    return med, (q3 - q1) / med


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--extra", type=int, default=4, help="CPU-bound processes started mid-run (default 4)")
    parser.add_argument("--quiet", type=float, default=6.0, help="seconds before they start (default 6)")
    parser.add_argument("--busy", type=float, default=6.0, help="seconds with them running (default 6)")
    args = parser.parse_args()
    limit_blas_threads(1)
    keep_freed_memory()
    model = build_variants(StackConfig(d_model=64, n_heads=2, n_layers=2), np.random.default_rng(4),
                           variants=("frozen",))["frozen"]
    X = np.random.default_rng(0).normal(size=(4, 32, 64))
    model.forward(X)
    load0 = os.getloadavg()[0]
    before = timed_calls(lambda: model.forward(X), args.quiet)
    spin = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.extra)]
    try:
        after = timed_calls(lambda: model.forward(X), args.busy)
        load1 = os.getloadavg()[0]
    finally:
        for p in spin:
            p.kill()
            p.wait()
    print(f"{os.cpu_count()} CPUs; load average (1 min) {load0:.1f} before, {load1:.1f} with {args.extra} extra "
          f"processes; {len(before)} calls before, {len(after)} after")
    print(f"{'clock':<18}{'median before':>15}{'spread':>9}{'median after':>15}{'spread':>9}{'moved':>9}")
    for j, name in enumerate(("wall clock", "thread CPU time")):
        (m0, s0), (m1, s1) = summary(before[:, j]), summary(after[:, j])
        print(f"{name:<18}{1e3 * m0:>12.3f} ms{100 * s0:>7.1f} %{1e3 * m1:>12.3f} ms{100 * s1:>7.1f} %"
              f"{100 * (m1 / m0 - 1):>+8.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
