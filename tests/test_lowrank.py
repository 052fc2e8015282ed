"""Rank, factorization, best approximation and parameter counts."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lora_course.layer import LoRA
from lora_course.lowrank import (
    approximation_error,
    approximation_errors,
    best_rank_r,
    compression_ratio,
    factorize,
    lora_param_count,
    matrix_rank,
    params_per_matrix,
)


def low_rank(d, k, r, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(d, r)) @ rng.normal(size=(r, k))


def test_rank_of_a_product():
    assert matrix_rank(low_rank(30, 20, 3)) == 3
    assert matrix_rank(np.eye(5)) == 5
    assert matrix_rank(np.zeros((3, 4))) == 0


@settings(max_examples=25, deadline=None)
@given(d=st.integers(2, 12), k=st.integers(2, 12), data=st.data())
def test_factorize_recovers_low_rank_matrices(d, k, data):
    r = data.draw(st.integers(1, min(d, k)))
    M = low_rank(d, k, r, seed=d * k + r)
    B, A = factorize(M, r)
    assert B.shape == (d, r) and A.shape == (r, k)
    assert np.allclose(B @ A, M, atol=1e-9)


def test_best_rank_r_error_matches_singular_values():
    M = np.random.default_rng(1).normal(size=(8, 6))
    s = np.linalg.svd(M, compute_uv=False)
    for r in range(1, 6):
        err = np.linalg.norm(M - best_rank_r(M, r))
        assert np.isclose(err, np.sqrt(np.sum(s[r:] ** 2)))
        assert np.isclose(approximation_error(M, r, relative=False), err)
    errs = approximation_errors(M)
    assert errs[0] == pytest.approx(1.0) and errs[-1] == 0.0 and np.all(np.diff(errs) <= 0)


def test_counts_and_ratios():
    assert params_per_matrix(4, 4, 2) == 16
    assert compression_ratio(12288, 12288, 4) == 1536.0
    assert compression_ratio(100, 200, 3) == pytest.approx(20000 / 900)
    assert lora_param_count(192, 12288, 4) == 18_874_368
    assert lora_param_count(192, 12288, 1) == 4_718_592


def test_param_count_formula_equals_array_sizes():
    rng = np.random.default_rng(0)
    d_model, r, n_layers = 16, 3, 4
    adapters = [LoRA(d_model, d_model, r, rng=rng) for _ in range(n_layers * 2)]  # q and v per layer
    assert sum(a.A.size + a.B.size for a in adapters) == lora_param_count(n_layers * 2, d_model, r)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: factorize(np.ones((3, 4)), 4), r"min\(d, k\) = 3 for a \(3, 4\) weight, got 4"),
        (lambda: factorize(np.ones(3), 1), "expected a 2-D array"),
        (lambda: params_per_matrix(0, 4, 1), "d: expected an integer >= 1, got 0"),
        (lambda: lora_param_count(2, 8, 1.5), "r: expected an integer rank"),
        (lambda: matrix_rank([[1.0, np.inf]]), "finite"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
