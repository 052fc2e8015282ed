"""Verdicts decided by whole intervals: noise can only make a claim unresolved, never flip it."""

import numpy as np
import pytest

from lora_course.measure.timing import Interval, bootstrap_median
from lora_course.measure.verdicts import (
    Claim,
    Verdict,
    above,
    below,
    bootstrap_difference,
    bootstrap_mean_difference,
    claim,
    format_claims,
    mean_interval,
    t_quantile,
    tally,
    within,
)


@pytest.mark.parametrize("lo, hi, verdict", [(1.1, 1.3, Verdict.HOLDS), (0.8, 0.99, Verdict.FAILS),
                                             (0.9, 1.1, Verdict.UNRESOLVED), (1.0, 1.2, Verdict.UNRESOLVED)])
def test_above(lo, hi, verdict):
    assert above(Interval((lo + hi) / 2, lo, hi), 1.0) is verdict


def test_below_and_within():
    assert below(Interval(0.5, 0.4, 0.6), 1.0) is Verdict.HOLDS
    assert below(Interval(1.5, 1.0, 2.0), 1.0) is Verdict.FAILS
    assert below(Interval(1.0, 0.9, 1.1), 1.0) is Verdict.UNRESOLVED
    assert within(Interval(1.0, 0.98, 1.03), 1.0, 0.05) is Verdict.HOLDS
    assert within(Interval(1.2, 1.1, 1.3), 1.0, 0.05) is Verdict.FAILS
    assert within(Interval(1.0, 0.9, 1.1), 1.0, 0.05) is Verdict.UNRESOLVED
    with pytest.raises(ValueError, match="tolerance: expected a number > 0"):
        within(Interval(1, 1, 1), 1.0, 0)


def test_synthetic_timings_never_give_the_wrong_verdict():
    """1000 synthetic runs of a true +8 % overhead with heavy noise: 'does not hold' must (almost) never appear."""
    rng = np.random.default_rng(0)
    counts = {v: 0 for v in Verdict}
    for _ in range(300):
        ratios = 1.08 * np.exp(0.15 * rng.normal(size=12))       # busy machine: +-15 % per round
        counts[above(bootstrap_median(ratios, rng=rng), 1.0)] += 1
    assert counts[Verdict.FAILS] <= 3, counts        # a 95 % interval may miss, but rarely and never both ways
    assert counts[Verdict.HOLDS] > 0 and counts[Verdict.UNRESOLVED] > 0
    quiet = {v: 0 for v in Verdict}
    for _ in range(100):
        quiet[above(bootstrap_median(1.08 * np.exp(0.01 * rng.normal(size=30)), rng=rng), 1.0)] += 1
    assert quiet[Verdict.HOLDS] == 100, "on a quiet machine the claim resolves every time"


def test_bootstrap_differences_paired_and_unpaired():
    rng = np.random.default_rng(0)
    a, b = 1.2 + 0.01 * rng.normal(size=50), 1.05 + 0.01 * rng.normal(size=60)
    diff = bootstrap_difference(a, b, rng=rng, paired=False)
    assert diff.contains(0.15) and diff.lo > 0.1
    paired = bootstrap_mean_difference(a[:5], a[:5] - 0.1, rng=rng)
    assert paired.estimate == pytest.approx(0.1) and paired.lo == pytest.approx(0.1)
    with pytest.raises(ValueError, match="b: expected shape"):
        bootstrap_mean_difference(a, b, rng=rng)
    with pytest.raises(ValueError, match="a: expected at least 5 values for an interval, got 0"):
        bootstrap_difference([], b, rng=rng)
    with pytest.raises(ValueError, match="b: expected at least 5 values for an interval, got 1"):
        bootstrap_difference(a, b[:1], rng=rng, paired=False)


def test_t_interval_for_few_seeds():
    assert t_quantile(0.975, 1) == pytest.approx(12.706, abs=2e-3)
    assert t_quantile(0.975, 4) == pytest.approx(2.776, abs=1e-3)
    assert t_quantile(0.975, 200) == pytest.approx(1.972, abs=1e-3)
    iv = mean_interval([0.80, 0.84, 0.86, 0.90, 0.85])
    assert iv.estimate == pytest.approx(0.85) and iv.contains(0.85)
    assert iv.halfwidth == pytest.approx(2.776 * np.std([0.80, 0.84, 0.86, 0.90, 0.85], ddof=1) / 5**0.5, rel=1e-3)
    two = mean_interval([1.0, 3.0])
    assert two.lo < -10 and two.hi > 14, "two seeds can only give a very wide interval"
    one = mean_interval([1.0])
    assert one.lo == -np.inf and above(one, 0) is Verdict.UNRESOLVED
    with pytest.raises(ValueError, match="p: expected a probability"):
        t_quantile(0.2, 3)


def test_claims_print_and_choose_their_sentence():
    c = claim("LoRA beats head-only", mean_interval([10.0, 12.0, 11.0]), "above", 0.0, unit=" points")
    assert c.verdict is Verdict.HOLDS
    assert c.line().startswith("LoRA beats head-only: holds (estimate 11 points, 95 % interval [")
    assert c.say("yes", "no") == "yes"
    u = Claim("Adapter^H costs more", Verdict.UNRESOLVED, Interval(1.0, 0.9, 1.1))
    assert u.say("yes", "no").startswith("This run cannot tell whether adapter^H costs more")
    assert claim("x", Interval(0.92, 0.9, 0.95), "below", 1.0).say("yes", "no") == "yes"
    assert claim("x", Interval(1, 0.99, 1.01), "within", 1.0, 0.05).verdict is Verdict.HOLDS
    assert format_claims([c, u]).count("\n") == 1
    assert tally([c, u]) == "1 hold, 0 do not hold, 1 not resolved at this noise level"
    with pytest.raises(ValueError, match="test: expected 'above', 'below' or 'within'"):
        claim("x", Interval(1, 1, 1), "equals", 1.0)
    with pytest.raises(ValueError, match="tolerance: expected a number > 0 for a 'within' claim"):
        claim("x", Interval(1, 1, 1), "within", 1.0)
