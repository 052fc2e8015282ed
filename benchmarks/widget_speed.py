"""Print how long each lesson widget's compute function takes at its largest slider setting.

The limit is 100 ms per call. Run: `.venv/bin/python benchmarks/widget_speed.py` (or `make bench-widgets`).
Plot rendering in the browser comes on top of this (matplotlib draws a PNG per update: about 70-150 ms
on a 2-core machine for the course's figures).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from lora_course.cookbook import make_cookbook, rank_view
from lora_course.storage import MODEL_PRESETS, calculator_rows, storage_costs
from lora_course.targets_widget import budget_html, budget_report
from lora_course.update_size import make_setup, update_size_curves

LIMIT_MS = 100.0


def median_ms(fn: Callable[[], object], repeats: int = 20) -> float:
    fn()  # warm caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def main() -> int:
    book = make_cookbook(np.random.default_rng(7))
    setup = make_setup(seed=0)
    ranks = [1, 2, 4, 8, 16, 32]
    largest_model = max(MODEL_PRESETS, key=lambda name: MODEL_PRESETS[name]["n_params"])
    cases = {
        "00 storage calculator (1000 tasks, r=64, 4 matrices)": lambda: calculator_rows(largest_model, 1000, 64, 4),
        "01 rank view (1000 x 24 cookbook, r=24)": lambda: rank_view(book.M, 24),
        "02 update size (r=32, alpha=32, adam)": lambda: update_size_curves(setup, ranks, alpha=32, optimizer="adam"),
        "03 budget report + html (q,k,v,o, r=64)": lambda: budget_html(budget_report(("q", "k", "v", "o"), 64)),
        "04 storage widget (GPT-3, 1000 tasks, r=64)": lambda: storage_costs(175e9, 1000, 12288, 96, 4, 64),
    }
    worst = 0.0
    print(f"{'widget compute function':<58}{'median':>10}")
    for name, fn in cases.items():
        ms = median_ms(fn)
        worst = max(worst, ms)
        print(f"{name:<58}{ms:>8.2f} ms")
    print(f"slowest: {worst:.2f} ms (limit {LIMIT_MS:.0f} ms): {'OK' if worst < LIMIT_MS else 'TOO SLOW'}")
    return 0 if worst < LIMIT_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
