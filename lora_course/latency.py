"""Timing forward passes side by side: medians, spreads and overheads over a grid of batch x sequence.

Variants are timed interleaved (every repeat runs each variant once, in a rotating order), so a burst
of load on a shared machine hits them all alike; overhead is the median of the per-repeat ratios
``t_variant / t_frozen - 1``, and its spread is their interquartile range (IQR).

BLAS threads: a multi-threaded BLAS on a busy machine makes timings jumpy; time inside
``blas_threads(1)`` (from lora_course.blas_threads, re-exported here).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from .blas_threads import blas_threads as blas_threads  # re-exported for lesson 04 and bench
from .latency_overhead import BASELINE as PAPER_BASELINE
from .latency_overhead import overhead_percent
from .paper import TABLE1_LATENCY_MS
from .validation import (
    InputError,
    as_array,
    check_callable,
    check_choice,
    check_int,
    check_mapping,
    check_positive_int,
    check_rng,
    check_sequence,
)

_PAPER_NAMES = {"adapter_l": "Adapter^L", "adapter_h": "Adapter^H"}


# ---------------------------------------------------------------- timing
def time_interleaved(fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, np.ndarray]:
    """Seconds per call of every function, shape (repeats,) each, timed in a rotating interleaved order."""
    repeats = check_positive_int("repeats", repeats)
    check_int("warmup", warmup)
    if warmup < 0:
        raise InputError(f"warmup: expected an integer >= 0, got {warmup}")
    check_mapping("fns", fns)
    if not fns:
        raise InputError("fns: expected at least one function to time, got none")
    for name, fn in fns.items():
        check_callable(f"fns[{name!r}]", fn)
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    times = {name: np.empty(repeats) for name in names}
    for i in range(repeats):
        for j in range(len(names)):
            name = names[(i + j) % len(names)]
            start = time.perf_counter()
            fns[name]()
            times[name][i] = time.perf_counter() - start
    return times


def quartiles(x: np.ndarray) -> tuple[float, float, float]:
    """(q1, median, q3) of a 1-D sample."""
    x = as_array("x", x, ndim=1, allow_empty=False)
    q1, med, q3 = np.percentile(np.asarray(x, dtype=float), [25, 50, 75])
    return float(q1), float(med), float(q3)


@dataclass(frozen=True)
class LatencyRow:
    """One variant at one (batch, seq) point. Times in ms; overhead as a fraction of frozen (0.05 = +5%)."""

    batch: int
    seq: int
    variant: str
    median_ms: float
    iqr_ms: float
    overhead: float          # median over repeats of t / t_frozen - 1
    overhead_iqr: float
    paper_ms: float | None = None
    paper_overhead: float | None = None


def summarize(times: dict[str, np.ndarray], batch: int, seq: int, baseline: str = "frozen",
              paper_case: tuple[int, int] | None = None) -> list[LatencyRow]:
    """Rows for one grid point from ``time_interleaved``'s output; ``baseline`` must be among the keys."""
    check_mapping("times", times)
    check_positive_int("batch", batch)
    check_positive_int("seq", seq)
    if baseline not in times:
        raise InputError(f"times: expected a {baseline!r} entry to compare with, got {sorted(times)}")
    for name, t in times.items():
        as_array(f"times[{name!r}]", t, ndim=1, allow_empty=False)
        if np.shape(t) != np.shape(times[baseline]):
            raise InputError(f"times[{name!r}]: expected {np.shape(times[baseline])[0]} timings like the baseline's, "
                             f"got {np.shape(t)[0]}")
    if np.any(np.asarray(times[baseline]) <= 0):
        raise InputError(f"times[{baseline!r}]: expected timings > 0 (the ratios divide by them)")
    if paper_case is not None and not (isinstance(paper_case, tuple) and len(paper_case) == 2):
        raise InputError(f"paper_case: expected a (batch, seq_len) tuple or None, got {paper_case!r}")
    base = np.asarray(times[baseline])
    paper = TABLE1_LATENCY_MS.get(paper_case) if paper_case else None
    rows = []
    for name, t in times.items():
        t = np.asarray(t)
        q1, med, q3 = quartiles(t * 1e3)
        o1, omed, o3 = quartiles(t / base - 1.0)
        paper_ms = paper_over = None
        if paper is not None:
            key = PAPER_BASELINE if name in (baseline, "merged") else _PAPER_NAMES.get(name)
            if key in paper:
                paper_ms = paper[key]
                paper_over = overhead_percent(paper[PAPER_BASELINE], paper_ms) / 100
        rows.append(LatencyRow(batch, seq, name, med, q3 - q1, omed, o3 - o1, paper_ms, paper_over))
    return rows


def paper_case(batch: int, seq: int, seq_scale: int) -> tuple[int, int] | None:
    """The paper's Table 1 case (batch, seq * seq_scale) if it has one, else None."""
    batch, seq = check_positive_int("batch", batch), check_positive_int("seq", seq)
    seq_scale = check_positive_int("seq_scale", seq_scale)
    case = (batch, seq * seq_scale)
    return case if case in TABLE1_LATENCY_MS else None


def measure_grid(models: dict, cases: Iterable[tuple[int, int]], repeats: int, rng: np.random.Generator,
                 warmup: int = 1, seq_scale: int = 4,
                 progress: Callable[[str], None] | None = None) -> list[LatencyRow]:
    """Time ``model.forward(X)`` for every model and every (batch, seq) in ``cases``.

    ``models`` maps a variant name to an object with ``forward`` and ``config.d_model`` (a BlockStack)
    and must include ``frozen``. X is drawn from ``rng`` once per case, (batch, seq, d_model).
    ``seq_scale`` pairs a case with the paper's (batch, seq * seq_scale) for the side-by-side columns.
    ``progress`` is called after each case with its label (e.g. a tqdm ``update``).
    """
    check_mapping("models", models)
    if "frozen" not in models:
        raise InputError(f"models: expected a 'frozen' baseline, got {sorted(models)}")
    check_rng(rng)
    check_positive_int("repeats", repeats)
    check_int("warmup", warmup, 0)
    check_positive_int("seq_scale", seq_scale)
    if progress is not None:
        check_callable("progress", progress)
    cases = check_sequence("cases", cases)
    for case in cases:
        if not isinstance(case, tuple) or len(case) != 2:
            raise InputError(f"cases: expected (batch, seq) pairs, got {case!r}")
        check_positive_int("batch", case[0])
        check_positive_int("seq", case[1])
    d_model = next(iter(models.values())).config.d_model
    rows: list[LatencyRow] = []
    for batch, seq in cases:
        batch, seq = check_positive_int("batch", batch), check_positive_int("seq", seq)
        X = rng.normal(size=(batch, seq, d_model))
        fns = {name: (lambda m=m, X=X: m.forward(X)) for name, m in models.items()}
        times = time_interleaved(fns, repeats, warmup)
        rows += summarize(times, batch, seq, paper_case=paper_case(batch, seq, seq_scale))
        if progress is not None:
            progress(f"batch {batch} x seq {seq}")
    return rows


def _ms(x: float) -> str:
    return f"{x:.2f} ms" if x < 10 else f"{x:.1f} ms" if x < 100 else f"{x:.0f} ms"


def format_table(rows: list[LatencyRow], labels: dict[str, str] | None = None) -> str:
    """A plain-text table: our median, IQR and overhead, with the paper's Table 1 beside where it applies."""
    rows = check_sequence("rows", rows)
    for i, row in enumerate(rows):
        if not isinstance(row, LatencyRow):
            raise InputError(f"rows[{i}]: expected a LatencyRow, got {type(row).__name__}")
    if labels is not None:
        check_mapping("labels", labels)
    labels = labels or {}
    head = f"{'batch':>5} {'seq':>5}  {'variant':<22}{'median':>11}{'IQR':>11}{'overhead':>10}{'(IQR)':>8}" \
           f"  | {'paper (RTX8000)':>16}{'overhead':>10}"
    lines = [head, "-" * len(head)]
    for row in rows:
        paper = "" if row.paper_ms is None else f"{_ms(row.paper_ms):>16}{100 * row.paper_overhead:>+9.1f}%"
        lines.append(f"{row.batch:>5} {row.seq:>5}  {labels.get(row.variant, row.variant):<22}"
                     f"{_ms(row.median_ms):>11}{_ms(row.iqr_ms):>11}{100 * row.overhead:>+9.1f}%"
                     f"{100 * row.overhead_iqr:>7.1f}%  | {paper}")
    return "\n".join(lines)


def flops_per_token(d_model: int, d_ff: int, n_layers: int, seq: int, extra: str = "frozen", r: int = 4,
                    bottleneck: int = 0) -> float:
    """Multiply-adds per token of one forward pass (matrix products only), for the overhead one expects from
    arithmetic alone: projections 4 D^2, scores and mixing 2 T D, MLP 2 D F, plus LoRA 2 x 2 r D on q and v,
    or 2 D m per adapter (1 per block for adapter_l, 2 for adapter_h)."""
    D, F = check_positive_int("d_model", d_model), check_positive_int("d_ff", d_ff)
    check_positive_int("n_layers", n_layers)
    check_positive_int("seq", seq)
    check_positive_int("r", r)
    check_int("bottleneck", bottleneck, 0)
    if not isinstance(extra, str):
        check_choice("extra", extra, ("frozen", "merged", "lora", "adapter_l", "adapter_h"))
    base = 4 * D * D + 2 * seq * D + 2 * D * F
    extra_macs = {"frozen": 0, "merged": 0, "lora": 2 * 2 * r * D, "adapter_l": 2 * D * bottleneck,
                  "adapter_h": 2 * 2 * D * bottleneck}
    if extra not in extra_macs:
        raise InputError(f"extra: expected one of {tuple(extra_macs)}, got {extra!r}")
    return float(n_layers * (base + extra_macs[extra]))
