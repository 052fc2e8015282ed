"""Repeated in-place switching drifts in float32; rebuilding from W0 does not."""

import numpy as np
import pytest

from lora_course.lessons.l04_drift import growth_exponent, log_checkpoints, switching_drift
from lora_course.merge import Adapter


def drift_setup(d=32, n=4, seed=0):  # not "setup": pytest 7 runs a module-level setup() as a nose fixture
    rng = np.random.default_rng(seed)
    W0 = rng.normal(size=(d, d))
    return W0, [Adapter(rng.normal(0, 0.1, (4, d)), rng.normal(0, 0.1, (d, 4)), 1.0) for _ in range(n)], rng


def test_in_place_error_grows_and_rebuilt_error_stays_at_one_merge():
    W0, ads, rng = drift_setup()
    res = switching_drift(W0, ads, log_checkpoints(2000), rng)
    eps = np.finfo(np.float32).eps
    assert res.in_place_error[-1] > 30 * res.rebuilt_error.max(), "thousands of float32 updates should pile up"
    assert res.rebuilt_error.max() < 4 * eps * np.abs(W0).max(), "one merge = a few float32 roundings"
    assert growth_exponent(res) > 0.3


def test_float64_switching_stays_tiny():
    W0, ads, rng = drift_setup()
    res = switching_drift(W0, ads, [10, 100], rng, dtype=np.float64)
    assert res.in_place_error.max() < 1e-12


def test_checkpoints_and_errors():
    pts = log_checkpoints(1000, per_decade=3)
    assert pts[0] == 1 and pts[-1] == 1000 and np.all(np.diff(pts) > 0) and len(pts) == 10
    W0, ads, rng = drift_setup()
    with pytest.raises(ValueError, match="at least 2 adapters"):
        switching_drift(W0, ads[:1], [1], rng)
    with pytest.raises(ValueError, match="checkpoints: expected increasing integers"):
        switching_drift(W0, ads, [5, 3], rng)
    with pytest.raises(TypeError, match="rng: expected a numpy Generator"):
        switching_drift(W0, ads, [1], 0)
