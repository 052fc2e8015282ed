"""Kernel-side cost of one widget update for lesson 01's rank widget, drawn three ways (why live.py draws SVG).

1. a new matplotlib figure per update, shipped as a PNG (what `interact` + `plt.show()` did before);
2. one figure kept, its artists updated in place (`set_data`), re-rasterised by Agg and PNG-encoded: the
   work ipympl's canvas does in the kernel for each `draw_idle` (its browser side comes on top);
3. the SVG text of lora_course.support.svg_charts (the browser draws it; end to end: `make bench-widgets`).

Run: `.venv/bin/python benchmarks/plot_candidates.py`. Prints median and p95 per update, in ms.
"""

from __future__ import annotations

import io
import os
import time

import matplotlib

matplotlib.use("agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lora_course.lessons.l01_cookbook import make_cookbook, rank_view, rank_view_from, spectrum, truncated_rows  # noqa: E402
from lora_course.lowrank import best_rank_r  # noqa: E402
from lora_course.support.live import side_by_side  # noqa: E402
from lora_course.support.plotting import PALETTE, SEQUENTIAL_CMAP, figure  # noqa: E402
from lora_course.support.svg_axes import Axis  # noqa: E402
from lora_course.support.svg_charts import Series, heatmap, line_chart  # noqa: E402

M = make_cookbook(np.random.default_rng(7)).M
LOW, HIGH = float(M[:12].min()), float(M[:12].max())


def new_figure(r: int) -> None:
    view = rank_view(M, r)
    fig, (ax_err, ax_m, ax_r) = figure(ncols=3, width=4.0, height=3.4)
    ax_err.plot(np.arange(len(view.errors)), 100 * view.errors, "o-", ms=3, color=PALETTE[0])
    ax_err.plot([r], [100 * view.rel_error], "o", ms=11, color=PALETTE[3], label=f"r = {r}")
    ax_err.legend()
    ax_m.imshow(M[:12], cmap=SEQUENTIAL_CMAP, aspect="auto", vmin=LOW, vmax=HIGH)
    image = ax_r.imshow(best_rank_r(M, r)[:12], cmap=SEQUENTIAL_CMAP, aspect="auto", vmin=LOW, vmax=HIGH)
    fig.colorbar(image, ax=ax_r)
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)


def in_place_factory():
    spec = spectrum(M)
    fig, (ax_err, ax_m, ax_r) = figure(ncols=3, width=4.0, height=3.4)
    ax_err.plot(np.arange(len(spec.errors)), 100 * spec.errors, "o-", ms=3, color=PALETTE[0])
    (marker,) = ax_err.plot([5], [100 * spec.errors[5]], "o", ms=11, color=PALETTE[3], label="your r")
    ax_err.legend()
    ax_m.imshow(M[:12], cmap=SEQUENTIAL_CMAP, aspect="auto", vmin=LOW, vmax=HIGH)
    image = ax_r.imshow(M[:12], cmap=SEQUENTIAL_CMAP, aspect="auto", vmin=LOW, vmax=HIGH)
    fig.colorbar(image, ax=ax_r)
    fig.canvas.draw()

    def update(r: int) -> None:
        marker.set_data([r], [100 * spec.errors[r]])
        image.set_data(truncated_rows(spec, r, 12))
        fig.canvas.draw()
        fig.canvas.print_png(io.BytesIO())

    return update


def svg_factory():
    spec = spectrum(M)
    axes = (Axis(0, 24, "rank r kept"), Axis(0, 100, "relative error (%)"))

    def update(r: int) -> None:
        view = rank_view_from(spec, r)
        side_by_side(
            line_chart([Series(np.arange(25), 100 * view.errors, PALETTE[0], "error", marker=2.5),
                        Series([r], [100 * view.rel_error], PALETTE[3], "your r", line=False, marker=7)], *axes),
            heatmap(M[:12], LOW, HIGH), heatmap(truncated_rows(spec, r, 12), LOW, HIGH, colorbar="g"))

    return update


def main() -> int:
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs, load average {load:.1f} ({'quiet' if load < 0.5 else 'LOADED'})")
    cases = {"new matplotlib figure -> PNG": new_figure,
             "in-place set_data + Agg draw + PNG (ipympl)": in_place_factory(),
             "SVG text (lora_course.support.svg_charts)": svg_factory()}
    for name, fn in cases.items():
        fn(3)
        times = []
        for i in range(20):
            start = time.perf_counter()
            fn(1 + i % 24)
            times.append(1000 * (time.perf_counter() - start))
        print(f"{name:46s} median {np.median(times):8.1f} ms   p95 {np.percentile(times, 95):8.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
