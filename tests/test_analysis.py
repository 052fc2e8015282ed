"""Subspace similarity and amplification factor."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lora_course.analysis import amplification_factor, subspace_similarity, subspace_similarity_grid


@settings(max_examples=30, deadline=None)
@given(r1=st.integers(1, 8), r2=st.integers(1, 8), seed=st.integers(0, 1000))
def test_phi_in_unit_interval_and_one_on_itself(r1, r2, seed):
    rng = np.random.default_rng(seed)
    A1, A2 = rng.normal(size=(r1, 16)), rng.normal(size=(r2, 16))
    grid = subspace_similarity_grid(A1, A2)
    assert grid.shape == (r1, r2)
    assert np.all(grid >= -1e-12) and np.all(grid <= 1 + 1e-12)
    for i in range(1, r1 + 1):
        assert subspace_similarity(A1, A1, i, i) == pytest.approx(1.0)


def test_phi_of_orthogonal_subspaces_is_zero():
    A1 = np.eye(6)[:2]      # spans e1, e2
    A2 = np.eye(6)[2:5]     # spans e3..e5
    assert subspace_similarity(A1, A2, 2, 3) == pytest.approx(0.0)


def test_amplification_on_hand_built_case():
    # W emphasizes e1 (value 10) and barely uses e2 (value 0.5); dW = 5 * e2 e2^T amplifies e2.
    W = np.diag([10.0, 0.5, 0.1])
    dW = np.zeros((3, 3))
    dW[1, 1] = 5.0
    assert amplification_factor(dW, W, 1) == pytest.approx(5.0 / 0.5)
    dW_top = np.zeros((3, 3))
    dW_top[0, 0] = 5.0
    assert amplification_factor(dW_top, W, 1) == pytest.approx(0.5)


def test_bad_input():
    with pytest.raises(ValueError, match=r"expected an integer <= 2, got 3"):
        subspace_similarity(np.ones((2, 4)), np.ones((3, 4)), 3, 1)
    with pytest.raises(ValueError, match="shape"):
        amplification_factor(np.ones((3, 3)), np.ones((3, 4)), 1)
