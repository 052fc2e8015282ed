"""The recipes x ingredients matrix: a few base sauces make it (nearly) low rank."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lora_course.lessons.l01_cookbook import INGREDIENTS, SAUCES, gap_rank, make_cookbook, rank_view, sauce_matrix
from lora_course.lowrank import matrix_rank, singular_values


def test_sauce_matrix_shape_and_independence():
    S = sauce_matrix()
    assert S.shape == (len(SAUCES), len(INGREDIENTS)) == (5, 24)
    assert matrix_rank(S) == 5
    assert np.all(S >= 0)
    with pytest.raises(ValueError, match="expected one of INGREDIENTS, got 'truffle'"):
        sauce_matrix({"fancy": {"truffle": 1.0}})


def test_cookbook_structure():
    cb = make_cookbook(np.random.default_rng(0), n_recipes=200)
    assert cb.M.shape == (200, 24) and cb.mix.shape == (200, 5)
    used = np.count_nonzero(cb.mix, axis=1)
    assert used.min() >= 1 and used.max() <= 3
    assert np.all((cb.mix == 0) | ((cb.mix >= 0.2) & (cb.mix <= 1.5)))
    assert np.all(cb.M >= 0), "ingredient amounts cannot be negative"
    tweaks = cb.M - cb.mix @ cb.sauces
    assert 0.3 < tweaks.std() < 0.55 and np.abs(tweaks).max() < 4, "tweaks are a pinch, not a new sauce"


def test_same_seed_same_book_and_no_global_state():
    a = make_cookbook(np.random.default_rng(3), n_recipes=50).M
    np.random.seed(123)   # global seeding must have no effect
    b = make_cookbook(np.random.default_rng(3), n_recipes=50).M
    assert np.array_equal(a, b)


def test_noise_makes_it_full_rank_but_the_gap_shows_five_sauces():
    cb = make_cookbook(np.random.default_rng(0))
    assert matrix_rank(cb.M) == 24
    assert gap_rank(cb.M) == 5
    s = singular_values(cb.M)
    assert s[4] / s[5] > 20
    clean = make_cookbook(np.random.default_rng(0), noise=0.0).M
    assert matrix_rank(clean) == 5 and gap_rank(clean) == 5


@settings(max_examples=25, deadline=None)
@given(n_sauces=st.integers(1, 8), n_ingredients=st.integers(9, 20), seed=st.integers(0, 2**32 - 1))
def test_gap_rank_finds_the_number_of_sauces(n_sauces, n_ingredients, seed):
    rng = np.random.default_rng(seed)
    sauces = rng.uniform(0, 50, size=(n_sauces, n_ingredients))
    cb = make_cookbook(rng, n_recipes=300, noise=0.0, max_sauces_per_recipe=1, sauces=sauces)
    assert gap_rank(cb.M) == matrix_rank(cb.M) == n_sauces


def test_gap_rank_edge_cases():
    assert gap_rank(np.zeros((3, 4))) == 0
    assert gap_rank(np.eye(4)) == 4
    assert gap_rank(np.ones((3, 3))) == 1
    assert gap_rank(np.random.default_rng(1).normal(size=(100, 20))) == 20
    with pytest.raises(ValueError, match="min_gap: expected a finite ratio > 1, got 0.5"):
        gap_rank(np.eye(2), min_gap=0.5)


def test_rank_view():
    cb = make_cookbook(np.random.default_rng(0))
    view = rank_view(cb.M, 5)
    assert view.params == 5 * (1000 + 24) and view.dense_params == 24_000
    assert view.share == pytest.approx(5120 / 24_000)
    assert view.errors.shape == (25,) and view.errors[0] == pytest.approx(1.0) and view.errors[-1] == 0
    assert view.rel_error == view.errors[5] < 0.05
    random_view = rank_view(np.random.default_rng(1).normal(size=(1000, 24)), 5)
    assert random_view.rel_error > 0.8
    with pytest.raises(ValueError, match="r: expected 1 <= r <= min"):
        rank_view(cb.M, 25)


def test_bad_inputs():
    with pytest.raises(TypeError, match="rng: expected a numpy Generator"):
        make_cookbook(0)
    with pytest.raises(ValueError, match="noise: expected a finite std >= 0 in grams, got -1"):
        make_cookbook(np.random.default_rng(0), noise=-1)
    with pytest.raises(ValueError, match="max_sauces_per_recipe: expected an integer <= 5, got 6"):
        make_cookbook(np.random.default_rng(0), max_sauces_per_recipe=6)


def test_spectrum_truncations_match_a_fresh_decomposition():
    from lora_course.lessons.l01_cookbook import rank_view_from, spectrum, truncated_rows
    from lora_course.lowrank import best_rank_r

    M = make_cookbook(np.random.default_rng(3), n_recipes=60).M
    spec = spectrum(M)
    for r in (1, 5, 24):
        fresh, cached = rank_view(M, r), rank_view_from(spec, r)
        assert cached.params == fresh.params and cached.dense_params == fresh.dense_params
        np.testing.assert_allclose(cached.errors, fresh.errors, atol=1e-12)
        assert abs(cached.rel_error - fresh.rel_error) < 1e-12
        np.testing.assert_allclose(truncated_rows(spec, r, 12), best_rank_r(M, r)[:12], atol=1e-9)
    assert spec.errors[0] == 1.0 and spec.errors[-1] < 1e-7
    with pytest.raises(ValueError, match="r: expected 1 <= r"):
        truncated_rows(spec, 25, 12)
    with pytest.raises(ValueError, match="rows"):
        truncated_rows(spec, 2, 61)
