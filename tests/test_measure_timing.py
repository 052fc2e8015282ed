"""Interleaved timing rounds, bootstrap intervals and the stop rule, on fake clocks."""

import itertools
import math

import numpy as np
import pytest

from lora_course.measure.timing import (
    Comparison,
    Interval,
    bootstrap_median,
    certainty,
    compare,
    ratio_intervals,
    time_rounds,
    time_until_resolved,
)
from lora_course.validation import InputError


def fake_measure(costs, noise=0.0, seed=0):
    """A ``measure`` that returns a variant's cost times (1 + noise), and a shared per-round load factor."""
    rng = np.random.default_rng(seed)

    def measure(fn):
        return fn() * (1 + noise * rng.normal())
    return measure


def test_rounds_run_every_variant_once_in_random_order():
    calls = []
    variants = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    times = time_rounds(variants, 30, rng=np.random.default_rng(0), warmup=2)
    assert calls[:6] == list("abcabc"), "warm-up runs every variant in order"
    rounds = [calls[6 + 3 * i: 9 + 3 * i] for i in range(30)]
    assert all(sorted(r) == list("abc") for r in rounds), "each round runs each variant exactly once"
    assert len({tuple(r) for r in rounds}) > 1, "the order changes between rounds"
    assert all(t.shape == (30,) and np.all(t >= 0) for t in times.values())


def test_measure_is_pluggable_for_gpu_events():
    seen = []

    def measure(fn):                     # e.g. CUDA events: returns a duration without a wall clock
        fn()
        seen.append(1)
        return 2.5e-3
    times = time_rounds({"frozen": lambda: None, "lora": lambda: None}, 4, rng=np.random.default_rng(0),
                        warmup=0, measure=measure)
    assert len(seen) == 8 and np.all(times["lora"] == 2.5e-3)


def test_ratio_cancels_a_load_burst_that_hits_a_whole_round():
    load = itertools.cycle([1.0, 1.0, 5.0, 1.0])       # every 4th round the machine is 5x slower
    state = {"load": 1.0}
    per_round = {"frozen": 1e-3, "lora": 1.2e-3}

    def frozen():
        state["load"] = next(load)                      # the load changes once a round (frozen runs once a round)
        return per_round["frozen"] * state["load"]
    variants = {"frozen": frozen, "lora": lambda: per_round["lora"] * state["load"]}
    # measure returns the simulated duration; both variants of a round see the same load
    times = time_rounds(variants, 40, rng=np.random.default_rng(1), warmup=0, measure=lambda fn: fn())
    iv = ratio_intervals(times, "frozen", rng=np.random.default_rng(0))["lora"]
    # lora runs after frozen in about half the rounds, before it in the others: its load is then the
    # previous round's; the median ratio is still exactly 1.2
    assert iv.estimate == pytest.approx(1.2)


def test_bootstrap_median_interval_contains_the_truth_and_narrows():
    rng = np.random.default_rng(0)
    wide = bootstrap_median(1.1 + 0.05 * rng.normal(size=20), rng=rng)
    narrow = bootstrap_median(1.1 + 0.05 * rng.normal(size=2000), rng=rng)
    assert wide.contains(1.1) and narrow.contains(1.1)
    assert narrow.halfwidth < wide.halfwidth / 3
    assert narrow.lo <= narrow.estimate <= narrow.hi
    with pytest.raises(ValueError, match="x: expected at least 5 values for an interval, got 0"):
        bootstrap_median([], rng=rng)
    with pytest.raises(ValueError, match="level: expected a number in"):
        bootstrap_median([1.0] * 5, rng=rng, level=1.5)


def test_time_until_resolved_stops_when_narrow_or_out_of_rounds():
    quiet = {"frozen": lambda: 1.0, "lora": lambda: 1.1}
    times, ivs = time_until_resolved(quiet, "frozen", rng=np.random.default_rng(0), min_rounds=5, max_rounds=50,
                                     measure=fake_measure(None, noise=0.001))
    assert len(times["frozen"]) == 5, "a quiet machine resolves after the first rounds"
    assert ivs["lora"].contains(1.1) or abs(ivs["lora"].estimate - 1.1) < 0.01
    done = []
    times, ivs = time_until_resolved(quiet, "frozen", rng=np.random.default_rng(0), min_rounds=5, max_rounds=23,
                                     batch=10, measure=fake_measure(None, noise=0.5), progress=done.append)
    assert done == [5, 15, 23] and len(times["lora"]) == 23, "a noisy machine uses every round allowed"
    with pytest.raises(ValueError, match="max_rounds: expected >= min_rounds"):
        time_until_resolved(quiet, "frozen", rng=np.random.default_rng(0), min_rounds=5, max_rounds=2)
    with pytest.raises(ValueError, match="baseline: expected one of"):
        time_until_resolved(quiet, "base", rng=np.random.default_rng(0))


def test_compare_pins_blas_and_says_how_sure():
    comp = compare({"frozen": lambda: None, "merged": lambda: None}, "frozen", rng=np.random.default_rng(0),
                   min_rounds=5, max_rounds=5)
    assert isinstance(comp, Comparison) and comp.rounds == 5 and comp.threads == 1
    assert "5 interleaved rounds" in comp.statement() and "BLAS threads 1" in comp.statement()
    iv = Interval(1.05, 1.04, 1.06)
    assert certainty(iv, 0.02) == "±1.0 %: resolved to the ±2 % asked for"
    assert "wider than" in certainty(Interval(1.0, 0.8, 1.2), 0.02)
    assert iv.as_percent_overhead() == "+5.0 % [+4.0, +6.0]" and iv.as_ratio() == "1.05 [1.04, 1.06]"
    times = {"frozen": np.ones(5), "a": np.full(5, 2.0), "b": np.full(5, 3.0)}
    comp = Comparison("frozen", times, ratio_intervals(times, "frozen", rng=np.random.default_rng(0)), 0.1, 0.02, 1)
    assert comp.ratio_between("b", "a", rng=np.random.default_rng(0)).estimate == 1.5
    assert comp.resolved and "every interval within" in comp.statement()
    with pytest.raises(ValueError, match="name: expected one of"):
        comp.ratio_between("c", "a", rng=np.random.default_rng(0))


def test_bad_variants_are_named():
    with pytest.raises(ValueError, match="variants: expected a non-empty mapping"):
        time_rounds({}, 3, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"variants\['a'\]: expected a function"):
        time_rounds({"a": 3}, 3, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="warmup: expected an integer >= 0"):
        time_rounds({"a": lambda: None}, 3, rng=np.random.default_rng(0), warmup=-1)
    with pytest.raises(ValueError, match=r"times\['a'\]: expected shape"):
        ratio_intervals({"f": np.ones(5), "a": np.ones(4)}, "f", rng=np.random.default_rng(0))


def test_repeated_calls_a_function_many_times():
    from lora_course.measure.timing import repeated

    calls = []
    repeated(lambda: calls.append(1), 7)()
    assert len(calls) == 7
    with pytest.raises(ValueError, match="number: expected an integer >= 1, got 0"):
        repeated(lambda: None, 0)


# ---------------------------------------------------------------------------------------------- the grader's cap

def test_the_timing_cap_is_read_from_the_environment_and_checked(monkeypatch):
    from lora_course.measure import budget

    monkeypatch.delenv(budget.ENV, raising=False)
    assert budget.timing_cap() == math.inf
    for text, want in (("0.5", 0.5), (" 2 ", 2.0), ("", math.inf), ("0", 0.0)):
        monkeypatch.setenv(budget.ENV, text)
        assert budget.timing_cap() == want
    for text in ("abc", "-1", "nan", "inf", "1e999"):
        monkeypatch.setenv(budget.ENV, text)
        with pytest.raises(InputError, match=f"^{budget.ENV}: expected a number of seconds >= 0.*{text!r}"):
            budget.timing_cap()


def test_the_cap_shortens_every_budget_of_a_comparison(monkeypatch):
    """Rounds that sleep 10 ms: with the cap (50 ms) the run stops after a few rounds and says it has too few
    for a verdict; without it, the same call runs all of its 12 rounds."""
    import time as _time

    from lora_course.measure import budget

    variants = {"a": lambda: _time.sleep(0.005), "b": lambda: _time.sleep(0.005)}
    options = {"rng": np.random.default_rng(0), "min_rounds": 12, "max_rounds": 12, "max_seconds": 30.0,
               "max_cpu_seconds": None}
    monkeypatch.delenv(budget.ENV, raising=False)
    times, _ = time_until_resolved(variants, "a", **options)
    assert len(times["a"]) == 12
    monkeypatch.setenv(budget.ENV, "0.05")
    times, intervals = time_until_resolved(variants, "a", **options)
    assert 1 <= len(times["a"]) <= 6
    assert not np.isfinite(intervals["b"].lo), "too few rounds: the interval is unbounded"
    monkeypatch.setenv(budget.ENV, "0")
    assert len(time_until_resolved(variants, "a", **options)[0]["a"]) == 1   # one round: the budget is spent


def test_the_graders_kernels_cap_the_lessons_timings(tmp_path):
    from lora_course.grading.kernel import kernel_env
    from lora_course.measure import budget

    assert float(kernel_env(tmp_path)[budget.ENV]) == budget.GRADING
