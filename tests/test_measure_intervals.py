"""Statistics on degenerate data: intervals check themselves, refuse too few samples, and no verdict rests on less."""

import math
import time

import numpy as np
import pytest

from lora_course.measure.clocks import clock_name, thread_cpu_clock, wall_clock
from lora_course.measure.intervals import (
    MIN_SAMPLES,
    Interval,
    _block_indices,
    block_length,
    bootstrap_median,
    unbounded,
)
from lora_course.measure.verdicts import Verdict, above, claim, control_gate, mean_interval, tally, within


@pytest.mark.parametrize("estimate, lo, hi, culprit", [
    (1.0, 1.2, 0.9, "lo"),                      # inverted
    (1.0, float("nan"), 1.1, "lo"),
    (1.0, 0.9, float("nan"), "hi"),
    (float("nan"), 0.9, 1.1, "estimate"),
    (1.5, 0.9, 1.1, "estimate"),                # estimate outside [lo, hi]
    (float("inf"), 0.9, float("inf"), "estimate"),
    (1.0, float("inf"), float("inf"), "lo, hi"),
    ("1.0", 0.9, 1.1, "estimate"),
])
def test_an_interval_that_cannot_be_one_is_refused(estimate, lo, hi, culprit):
    with pytest.raises((ValueError, TypeError)) as err:
        Interval(estimate, lo, hi)
    assert str(err.value).startswith(culprit + ":")


def test_interval_level_and_count_are_checked():
    with pytest.raises(ValueError, match="level: expected a number in"):
        Interval(1.0, 0.9, 1.1, level=1.0)
    with pytest.raises(ValueError, match="n: expected an integer >= 1"):
        Interval(1.0, 0.9, 1.1, n=0)
    iv = Interval(np.float64(1.0), 0.9, 1.1, n=np.int64(30))
    assert type(iv.estimate) is float and iv.n == 30 and iv.bounded
    assert not unbounded(1.0, 3).bounded and unbounded(1.0, 3).contains(1e9)


def test_bootstrap_refuses_fewer_samples_than_its_minimum():
    rng = np.random.default_rng(0)
    for n in range(MIN_SAMPLES):
        with pytest.raises(ValueError, match=f"x: expected at least {MIN_SAMPLES} values for an interval, got {n}"):
            bootstrap_median(np.ones(n), rng=rng)
    with pytest.raises(ValueError, match="x: expected at least 30 values"):
        bootstrap_median(np.ones(20), rng=rng, min_samples=30)
    iv = bootstrap_median(1 + 0.01 * rng.normal(size=MIN_SAMPLES), rng=rng)
    assert iv.n == MIN_SAMPLES and iv.lo <= iv.estimate <= iv.hi


def test_block_resamples_keep_runs_of_consecutive_rounds_and_draw_every_round_alike():
    idx = _block_indices(12, 3, 500, np.random.default_rng(0))
    assert idx.shape == (500, 12)
    steps = np.diff(idx.reshape(500, 4, 3), axis=2) % 12
    assert np.all(steps == 1), "each block is three consecutive rounds (wrapping around)"
    counts = np.bincount(idx.ravel(), minlength=12)
    assert counts.min() > 0.8 * counts.mean(), "the first and last rounds are drawn as often as the others"
    assert [block_length(n) for n in (1, 8, 20, 100)] == [1, 2, 3, 5]


def test_block_bootstrap_widens_when_the_noise_drifts():
    rng = np.random.default_rng(1)
    drift = 1.0 + 0.1 * np.sin(np.linspace(0, 3 * np.pi, 60)) + 0.005 * rng.normal(size=60)
    iid = bootstrap_median(drift, rng=np.random.default_rng(0), block=1)
    blocks = bootstrap_median(drift, rng=np.random.default_rng(0))
    assert blocks.halfwidth > iid.halfwidth


def test_a_claim_needs_its_minimum_of_samples():
    one_round = Interval(1.2, 1.2, 1.2, n=1)              # what a bootstrap of one value used to give
    assert claim("unmerged is slower", one_round, "above", 1.0).verdict is Verdict.TOO_FEW
    assert claim("x", Interval(1.2, 1.1, 1.3, n=19), "above", 1.0, min_samples=20).verdict is Verdict.TOO_FEW
    assert claim("x", Interval(1.2, 1.1, 1.3, n=20), "above", 1.0, min_samples=20).verdict is Verdict.HOLDS
    assert claim("x", Interval(1.2, 1.1, 1.3), "above", 1.0, min_samples=20).verdict is Verdict.TOO_FEW
    assert claim("seeds", mean_interval([1.0]), "above", 0.0).verdict is Verdict.TOO_FEW
    assert not Verdict.TOO_FEW.resolved and not Verdict.BUSY.resolved and Verdict.FAILS.resolved
    assert "1 not resolved: too few samples" in tally([claim("x", one_round, "above", 1.0)])


def test_verdicts_never_see_an_inverted_interval():
    with pytest.raises(ValueError, match="lo: expected lo <= hi"):
        within(Interval(1.0, 1.04, 0.96), 1.0, 0.05)
    assert above(Interval(1.0, -math.inf, math.inf), 0.0) is Verdict.UNRESOLVED


def test_control_gate_turns_every_verdict_into_too_busy():
    claims = [claim("a", Interval(1.2, 1.1, 1.3, n=30), "above", 1.0),
              claim("b", Interval(0.8, 0.7, 0.9, n=30), "above", 1.0)]
    assert control_gate(claims, [Interval(1.0, 0.98, 1.02)]) == claims
    busy = control_gate(claims, [Interval(1.0, 0.98, 1.02), Interval(1.05, 1.03, 1.07)])
    assert [c.verdict for c in busy] == [Verdict.BUSY, Verdict.BUSY]
    assert busy[0].say("yes", "no") == "Not resolved: this machine was too busy to tell: a."
    assert [c.interval for c in busy] == [c.interval for c in claims]


def test_thread_cpu_clock_ignores_time_spent_waiting():
    assert thread_cpu_clock(lambda: time.sleep(0.05)) < 0.01 < wall_clock(lambda: time.sleep(0.05))
    assert thread_cpu_clock(lambda: sum(range(200_000))) > 0
    assert clock_name(thread_cpu_clock) == "thread CPU time" and clock_name(wall_clock) == "wall-clock time"
    with pytest.raises(TypeError, match="fn: expected"):
        thread_cpu_clock(3)
