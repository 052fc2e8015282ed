"""Overhead percentages computed from the paper's Table 1."""

import pytest

from lora_course.lessons.l00_overhead import overhead_percent, overhead_rows
from lora_course.paper import TABLE1_LATENCY_MS


def test_table1_percentages_match_the_paper():
    # the paper prints these next to its latencies
    printed = {(32, "Adapter^L"): 2.2, (32, "Adapter^H"): 3.0, (16, "Adapter^L"): 5.0, (16, "Adapter^H"): 8.4,
               (1, "Adapter^L"): 20.7, (1, "Adapter^H"): 30.3}
    rows = overhead_rows()
    assert len(rows) == len(printed)
    for row in rows:
        assert round(row.overhead_pct, 1) == printed[(row.batch, row.variant)]
        assert row.extra_ms == pytest.approx(row.ms - row.baseline_ms)


def test_overhead_shrinks_as_the_batch_grows():
    for variant in ("Adapter^L", "Adapter^H"):
        by_batch = sorted((r.batch, r.overhead_pct) for r in overhead_rows() if r.variant == variant)
        pcts = [p for _, p in by_batch]
        assert pcts == sorted(pcts, reverse=True)


def test_overhead_percent_basics_and_errors():
    assert overhead_percent(20.0, 25.0) == pytest.approx(25.0)
    assert overhead_percent(20.0, 20.0) == 0.0
    assert overhead_percent(20.0, 15.0) == pytest.approx(-25.0)
    with pytest.raises(ValueError, match="baseline_ms: expected a latency > 0 in ms, got 0"):
        overhead_percent(0, 1.0)
    with pytest.raises(ValueError, match="variant_ms: expected a latency > 0 in ms, got 'fast'"):
        overhead_percent(1.0, "fast")


def test_custom_table_and_missing_baseline():
    rows = overhead_rows({(4, 64): {"base": 10.0, "slow": 12.0}}, baseline="base")
    assert rows[0].overhead_pct == pytest.approx(20.0) and rows[0].batch == 4 and rows[0].seq_len == 64
    with pytest.raises(ValueError, match="expected a 'Fine-Tune/LoRA' entry"):
        overhead_rows({(1, 1): {"x": 1.0}})
    assert TABLE1_LATENCY_MS[(1, 128)]["Adapter^H"] == 25.8   # overhead_rows must not modify the paper's data
