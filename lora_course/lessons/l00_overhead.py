"""Relative latency overhead of a variant over a baseline, applied to the paper's Table 1."""

from __future__ import annotations

import numbers
from typing import NamedTuple

from lora_course.paper import TABLE1_LATENCY_MS
from lora_course.validation import InputError, check_mapping

BASELINE = "Fine-Tune/LoRA"


class OverheadRow(NamedTuple):
    """One cell of Table 1 next to the baseline it is compared with."""

    batch: int
    seq_len: int
    variant: str
    ms: float
    baseline_ms: float
    extra_ms: float          # ms - baseline_ms
    overhead_pct: float      # 100 * extra_ms / baseline_ms


def overhead_percent(baseline_ms: float, variant_ms: float) -> float:
    """100 * (variant_ms - baseline_ms) / baseline_ms: how much slower the variant is, in percent."""
    for name, value in (("baseline_ms", baseline_ms), ("variant_ms", variant_ms)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < float("inf"):
            raise InputError(f"{name}: expected a latency > 0 in ms, got {value!r}")
    return 100.0 * (variant_ms - baseline_ms) / baseline_ms


def overhead_rows(table: dict | None = None, baseline: str = BASELINE) -> list[OverheadRow]:
    """Every non-baseline entry of ``table`` ((batch, seq_len) -> {variant: ms}); default: paper Table 1."""
    table = TABLE1_LATENCY_MS if table is None else check_mapping("table", table)
    if not isinstance(baseline, str):
        raise InputError(f"baseline: expected a variant name (str), got {baseline!r}")
    for case, timings in table.items():
        if not (isinstance(case, tuple) and len(case) == 2) or not isinstance(timings, dict):
            raise InputError(f"table: expected (batch, seq_len) -> {{variant: ms}} entries, got {case!r}: {timings!r}")
    rows = []
    for (batch, seq_len), timings in table.items():
        if baseline not in timings:
            raise InputError(f"table[{(batch, seq_len)}]: expected a {baseline!r} entry, got {sorted(timings)}")
        base = timings[baseline]
        for variant, ms in timings.items():
            if variant != baseline:
                rows.append(OverheadRow(batch, seq_len, variant, ms, base, ms - base, overhead_percent(base, ms)))
    return rows
