"""Tests for lora_course.lessons.l02_update_size: the first LoRA step's size as r and the scaling change."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lora_course.lessons.l02_toy_regression import SCALINGS
from lora_course.lessons.l02_update_size import make_setup, one_step_delta, update_size, update_size_curves


@pytest.fixture(scope="module")
def setup():
    return make_setup(seed=0, d=16, k=12, n=64, max_r=12, draws=4)


def _gradient_of_B(setup, A, scale):
    """dL/dB at B = 0 written out independently: scale * G^T X A^T with G = (X W0^T - Y) / n."""
    t = setup.task
    G = (t.X @ t.W0.T - t.Y) / t.X.shape[0]
    return scale * G.T @ t.X @ A.T


@pytest.mark.parametrize("r,scale", [(1, 1.0), (3, 2.5), (12, 0.1)])
def test_sgd_step_matches_the_closed_form(setup, r, scale):
    A = setup.A_pool[0, :r]
    expected = scale * (-0.01 * _gradient_of_B(setup, A, scale)) @ A
    np.testing.assert_allclose(one_step_delta(setup, r, scale, lr=0.01), expected, rtol=1e-12, atol=1e-15)


def test_adam_first_step_is_a_sign_step(setup):
    A = setup.A_pool[1, :4]
    expected = 2.0 * (-0.05 * np.sign(_gradient_of_B(setup, A, 2.0))) @ A
    # g / (|g| + 1e-8) differs from sign(g) by about 1e-8 / |g|; the smallest |g| here is near 1e-4
    np.testing.assert_allclose(one_step_delta(setup, 4, 2.0, lr=0.05, optimizer="adam", draw=1), expected,
                               rtol=1e-3)


@settings(max_examples=20, deadline=None)
@given(r=st.integers(1, 12), scale=st.floats(0.05, 20.0), lr=st.floats(1e-4, 1.0))
def test_step_has_rank_at_most_r_and_is_linear_in_lr(r, scale, lr):
    s = make_setup(seed=1, d=16, k=12, n=64, max_r=12, draws=1)
    delta = one_step_delta(s, r, scale, lr=lr)
    assert delta.shape == (16, 12)
    assert np.linalg.matrix_rank(delta, tol=1e-10 * max(1e-300, np.abs(delta).max())) <= r
    np.testing.assert_allclose(one_step_delta(s, r, scale, lr=2 * lr), 2 * delta, rtol=1e-10, atol=1e-300)


def test_sgd_step_grows_as_scale_squared(setup):
    a, b = update_size(setup, 3, 1.0), update_size(setup, 3, 3.0)
    assert b.frobenius == pytest.approx(9 * a.frobenius)
    assert b.progress == pytest.approx(9 * a.progress)


def test_progress_is_positive_for_small_steps(setup):
    for r in (1, 4, 12):
        for optimizer in ("sgd", "adam"):
            assert update_size(setup, r, 1.0, lr=1e-3, optimizer=optimizer).progress > 0


def test_curves_show_the_rank_dependence_under_sgd():
    s = make_setup(seed=0)
    c = update_size_curves(s, [1, 32], alpha=8)
    assert set(c) == set(SCALINGS)
    none, over_r = c["none"]["progress"], c["alpha_over_r"]["progress"]
    assert none[1] > 10 * none[0], "without scaling the first step should grow with r"
    assert over_r[1] < over_r[0], "with alpha / r and plain SGD the first step should shrink with r"


def test_curves_agree_where_the_scales_agree(setup):
    c = update_size_curves(setup, [4], alpha=4.0)   # alpha = r: every scale is 1 except rsLoRA's 2
    assert c["none"]["frobenius"][0] == pytest.approx(c["alpha_over_r"]["frobenius"][0])
    assert c["alpha_over_sqrt_r"]["frobenius"][0] == pytest.approx(4 * c["none"]["frobenius"][0])


def test_bad_arguments_raise_with_names(setup):
    with pytest.raises(ValueError, match="r: expected an integer <= 12"):
        one_step_delta(setup, 13, 1.0)
    with pytest.raises(ValueError, match="optimizer"):
        one_step_delta(setup, 2, 1.0, optimizer="sgdm")
    with pytest.raises(ValueError, match="lr"):
        one_step_delta(setup, 2, 1.0, lr=0.0)
    with pytest.raises(ValueError, match="draw"):
        one_step_delta(setup, 2, 1.0, draw=4)
    with pytest.raises(ValueError, match="ranks"):
        update_size_curves(setup, [], alpha=1.0)
    with pytest.raises(ValueError, match="init_std"):
        make_setup(init_std=-1.0)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("scale", [0.3, 1.0, 4.0])
def test_rescaling_rule_matches_a_direct_step(setup, optimizer, scale):
    r = 5
    direct = [one_step_delta(setup, r, scale, 0.01, optimizer, g) for g in range(setup.A_pool.shape[0])]
    target = setup.task.delta_true
    size = update_size(setup, r, scale, 0.01, optimizer)
    rel = 1e-10 if optimizer == "sgd" else 1e-4   # Adam's eps makes its rule exact only up to ~1e-8 / |g|
    assert size.frobenius == pytest.approx(np.mean([np.linalg.norm(dw) for dw in direct]), rel=rel)
    assert size.progress == pytest.approx(np.mean([np.sum(dw * target) for dw in direct]) / np.sum(target**2),
                                          rel=rel)


def test_averaged_trends_follow_the_first_step_analysis():
    """SGD: none ~ r, alpha/r ~ 1/r, alpha/sqrt(r) flat. Adam: none ~ r, alpha/r flat (within a factor 2)."""
    s = make_setup(seed=0)
    ranks = [1, 32]
    sgd = update_size_curves(s, ranks, alpha=4, optimizer="sgd")
    adam = update_size_curves(s, ranks, alpha=4, optimizer="adam")

    def ratio(c, name):
        return c[name]["progress"][1] / c[name]["progress"][0]

    assert 10 < ratio(sgd, "none") and ratio(sgd, "alpha_over_r") < 0.1 and 0.5 < ratio(sgd, "alpha_over_sqrt_r") < 2
    assert 10 < ratio(adam, "none") and 0.5 < ratio(adam, "alpha_over_r") < 2 and ratio(adam, "alpha_over_sqrt_r") > 3


def test_scale_must_be_positive(setup):
    with pytest.raises(ValueError, match="scale: expected a finite number > 0"):
        update_size(setup, 2, 0.0)
