"""The timing intervals keep their 95 % when the noise drifts during a run (a simulation with a fixed seed)."""

import importlib.util
import pathlib

import numpy as np
import pytest

from lora_course.measure.intervals import BATCHES, batch_median, batch_median_difference

_spec = importlib.util.spec_from_file_location(
    "interval_coverage", pathlib.Path(__file__).parents[1] / "benchmarks" / "interval_coverage.py")
coverage_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(coverage_bench)


def covered(samples: np.ndarray) -> float:
    return float(np.mean([batch_median(x).contains(coverage_bench.THETA) for x in samples]))


@pytest.mark.parametrize("kind", ["step", "ramp", "wave"])
@pytest.mark.parametrize("n", [20, 60])
def test_batch_means_cover_the_true_ratio_under_drifting_noise(kind, n):
    rng = np.random.default_rng([7, n, len(kind)])
    samples = coverage_bench.THETA + coverage_bench.drifting_noise(rng, 1500, n, kind, phi=0.3)
    # 1500 runs: the share's standard error is about 0.006, so 0.94 is two of them below 0.95
    assert covered(samples) >= 0.94


def test_batch_means_interval_is_honest_about_few_batches():
    x = 1.1 + 0.01 * np.random.default_rng(0).normal(size=20)
    iv = batch_median(x)
    assert iv.n == 20 and iv.lo <= np.median(x) <= iv.hi and iv.estimate == pytest.approx(np.median(x))
    assert batch_median(np.full(10, 1.3)).halfwidth == 0.0, "identical rounds give a zero-width interval"
    with pytest.raises(ValueError, match=f"x: expected at least batches = 8 values, one per batch, got {BATCHES + 1}"):
        batch_median(np.ones(BATCHES + 1), batches=8)
    with pytest.raises(ValueError, match="batches: expected an integer >= 2"):
        batch_median(np.ones(20), batches=1)
    drift = 1.0 + 0.1 * np.sin(np.linspace(0, 3 * np.pi, 60))
    assert batch_median(drift).halfwidth > 5 * batch_median(1.0 + 0.005 * np.random.default_rng(1).normal(size=60)
                                                            ).halfwidth


def test_batch_median_difference_covers_and_refuses():
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(400):
        a = 1.15 + 0.03 * rng.standard_t(4, size=30)
        b = 1.05 + 0.03 * rng.standard_t(4, size=45)
        hits += batch_median_difference(a, b).contains(0.10)
    assert hits / 400 >= 0.93
    with pytest.raises(ValueError, match="b: expected at least 5 values for an interval, got 3"):
        batch_median_difference(np.ones(10), np.ones(3))


def test_a_claim_fails_only_when_its_stricter_interval_fails_it_too():
    from lora_course.measure.intervals import Interval
    from lora_course.measure.verdicts import Verdict, claim

    wide_of_the_mark = Interval(1.08, 1.06, 1.10, n=30)          # the 95 % interval says: not within 1 +- 0.05
    assert claim("merged = frozen", wide_of_the_mark, "within", 1.0, 0.05, min_samples=20).verdict is Verdict.FAILS
    strict_overlaps = Interval(1.08, 1.03, 1.13, n=30, level=0.99)
    assert claim("merged = frozen", wide_of_the_mark, "within", 1.0, 0.05, min_samples=20,
                 fails_on=strict_overlaps).verdict is Verdict.UNRESOLVED
    strict_agrees = Interval(1.08, 1.055, 1.11, n=30, level=0.99)
    assert claim("merged = frozen", wide_of_the_mark, "within", 1.0, 0.05, min_samples=20,
                 fails_on=strict_agrees).verdict is Verdict.FAILS
    holds = Interval(1.01, 0.99, 1.03, n=30)
    assert claim("merged = frozen", holds, "within", 1.0, 0.05, fails_on=strict_overlaps).verdict is Verdict.HOLDS
    with pytest.raises(TypeError, match="fails_on: expected"):
        claim("x", holds, "above", 1.0, fails_on=(0.9, 1.1))
