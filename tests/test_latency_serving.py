"""Section 4 of lesson 04: the serving strategies are timed side by side, and every sentence follows a verdict."""

import numpy as np
import pytest

from lora_course.lessons.l04_serving import (
    SERVING_CONTROL,
    STRATEGIES,
    ServingTiming,
    rows_per_second,
    serving_claims,
    serving_summary,
    time_serving,
)
from lora_course.measure.intervals import bootstrap_median
from lora_course.measure.timing import Comparison
from lora_course.measure.verdicts import Verdict
from lora_course.merge import Adapter


def _timing(distinct, factors, rounds=40, noise=0.01, seed=0, control=1.0):
    """Synthetic times: the loop ~ 1 ms with load drifting between rounds, each strategy a factor of it."""
    rng = np.random.default_rng(seed)
    base = 1e-3 * (1 + 0.3 * np.sin(np.arange(rounds) / 5))
    times = {"loop_per_adapter": base} | {s: f * base * (1 + noise * rng.normal(size=rounds))
                                          for s, f in (factors | {SERVING_CONTROL: control}).items()}
    ratios = {s: bootstrap_median(t / base, rng=rng) for s, t in times.items()}
    return ServingTiming(distinct, Comparison("loop_per_adapter", times, ratios, 1.0, 0.02, 1, min_rounds=20,
                                              control=SERVING_CONTROL))


def test_sentences_follow_the_verdicts_whichever_way_they_go():
    one = _timing(1, {"merge_per_task": 0.9, "gathered": 1.3})      # merging wins with one task here
    many = _timing(64, {"merge_per_task": 8.0, "gathered": 0.3}, seed=1)
    claims = serving_claims([one, many], rng=np.random.default_rng(0))
    assert len(claims) == 6 and all(c.verdict.resolved for c in claims)
    lines = serving_summary(claims, [one, many])
    assert lines[0].startswith("1 distinct adapter: fastest in this run: merge per task; slowest: gathered (einsum).")
    assert "loop per adapter is faster than gathered (einsum)" in lines[0]
    assert lines[1].startswith("64 distinct adapters: fastest in this run: gathered (einsum); slowest: merge per task.")
    assert "slower" not in " ".join(lines), "no sentence is written that a verdict did not decide"


def test_a_tie_or_a_busy_machine_names_no_winner():
    tie = _timing(2, {"merge_per_task": 1.0, "gathered": 1.0}, noise=0.05)
    lines = serving_summary(serving_claims([tie], rng=np.random.default_rng(0)), [tie])
    assert "no strategy is faster than both others in this run" in lines[0]
    busy = _timing(2, {"merge_per_task": 2.0, "gathered": 0.5}, control=1.1)
    claims = serving_claims([busy], rng=np.random.default_rng(0))
    assert {c.verdict for c in claims} == {Verdict.BUSY}
    assert "this machine was too busy to tell" in serving_summary(claims, [busy])[0]
    few = _timing(2, {"merge_per_task": 2.0, "gathered": 0.5}, rounds=8)
    assert {c.verdict for c in serving_claims([few], rng=np.random.default_rng(0))} == {Verdict.TOO_FEW}


def test_time_serving_runs_every_strategy_and_the_control():
    rng = np.random.default_rng(0)
    W0 = rng.normal(size=(6, 5))
    adapters = [Adapter(rng.normal(size=(2, 5)), rng.normal(size=(6, 2)), 0.5) for _ in range(3)]
    X = rng.normal(size=(6, 5))
    seen = []
    timings = time_serving(W0, adapters, X, [1, 3], rng, total_seconds=0.2, min_rounds=5, progress=seen.append)
    assert [t.distinct for t in timings] == [1, 3] and seen == ["1 distinct", "3 distinct"]
    for t in timings:
        assert set(t.comparison.times) == set(STRATEGIES) | {SERVING_CONTROL}
        assert t.comparison.clock == "thread CPU time" and t.comparison.rounds >= 1
    rates = rows_per_second(timings, 6)
    assert set(rates) == set(STRATEGIES) and all(len(v) == 2 and min(v) > 0 for v in rates.values())
    with pytest.raises(ValueError, match="distinct: expected an integer <= 3"):
        time_serving(W0, adapters, X, [4], rng)
    with pytest.raises(ValueError, match=r"X: expected \(n, 5\) rows"):
        time_serving(W0, adapters, X[:, :4], [1], rng)
    with pytest.raises(ValueError, match="claims: expected 3 claims from serving_claims"):
        serving_summary([], timings[:1])
