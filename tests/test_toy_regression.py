"""Tests for lora_course.lessons.l02_toy_regression: the lesson-02 task and its LoRA training loop."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lora_course.gradcheck import numerical_gradient, rel_error
from lora_course.lessons.l02_toy_regression import (
    ToyTask,
    init_factors,
    make_task,
    mse_loss,
    scale_for,
    train_lora,
)


@pytest.fixture
def task() -> ToyTask:
    return make_task(np.random.default_rng(0), d=12, k=10, n=64, true_rank=2)


def test_make_task_shapes_rank_and_targets(task):
    assert task.W0.shape == (12, 10) and task.delta_true.shape == (12, 10)
    assert task.X.shape == (64, 10) and task.Y.shape == (64, 12)
    assert np.linalg.matrix_rank(task.delta_true) == 2
    assert np.isclose(np.linalg.norm(task.delta_true), 1.0)
    np.testing.assert_allclose(task.Y, task.X @ (task.W0 + task.delta_true).T)


def test_make_task_is_reproducible_from_the_generator():
    a = make_task(np.random.default_rng(5), d=4, k=4, n=8, true_rank=1)
    b = make_task(np.random.default_rng(5), d=4, k=4, n=8, true_rank=1)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_make_task_rejects_bad_input():
    with pytest.raises(TypeError, match="Generator"):
        make_task(0)
    with pytest.raises(ValueError, match="min\\(d, k\\) = 4"):
        make_task(np.random.default_rng(0), d=4, k=6, true_rank=5)
    with pytest.raises(ValueError, match="delta_size"):
        make_task(np.random.default_rng(0), delta_size=0.0)


def test_mse_loss_value_and_gradient():
    rng = np.random.default_rng(1)
    H, Y = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    loss, dH = mse_loss(H, Y)
    assert np.isclose(loss, np.sum((H - Y) ** 2) / 10)
    num = numerical_gradient(lambda: mse_loss(H, Y)[0], H)
    assert rel_error(num, dH) < 1e-7
    with pytest.raises(ValueError, match="expected shape \\(5, 3\\)"):
        mse_loss(H, Y[:4])


@given(r=st.integers(1, 64), alpha=st.floats(0.1, 100.0))
def test_scale_for_matches_the_three_rules(r, alpha):
    assert scale_for("none", r, alpha) == 1.0
    assert np.isclose(scale_for("alpha_over_r", r, alpha), alpha / r)
    assert np.isclose(scale_for("alpha_over_sqrt_r", r, alpha), alpha / np.sqrt(r))


def test_scale_for_rejects_unknown_scaling():
    with pytest.raises(ValueError, match="scaling: expected one of"):
        scale_for("alpha", 2, 2.0)


def test_init_factors_three_schemes():
    rng = np.random.default_rng(2)
    A, B = init_factors(6, 5, 3, rng, "paper")
    assert A.shape == (3, 5) and B.shape == (6, 3) and np.all(B == 0) and np.all(A != 0)
    A, B = init_factors(6, 5, 3, rng, "both_zero")
    assert np.all(A == 0) and np.all(B == 0)
    A, B = init_factors(6, 5, 3, rng, "b_random")
    assert np.all(A == 0) and np.all(B != 0)
    with pytest.raises(ValueError, match="init: expected one of"):
        init_factors(6, 5, 3, rng, "random")


def test_first_loss_is_the_frozen_models_loss(task):
    frozen = np.sum((task.X @ task.delta_true.T) ** 2) / (2 * task.X.shape[0])
    for init in ("paper", "both_zero", "b_random"):
        res = train_lora(task, 2, np.random.default_rng(3), steps=1, init=init)
        assert res.losses[0] == pytest.approx(frozen, rel=1e-12)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), r=st.integers(1, 4))
def test_both_zero_never_moves(seed, r):
    task = make_task(np.random.default_rng(seed), d=6, k=5, n=16, true_rank=1)
    res = train_lora(task, r, np.random.default_rng(seed), steps=20, lr=0.5, init="both_zero")
    assert np.all(res.losses == res.losses[0])
    assert np.all(res.A == 0) and np.all(res.B == 0)


@pytest.mark.parametrize("init", ["paper", "b_random"])
@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.2), ("adam", 0.02)])
def test_training_fits_a_low_rank_target(task, init, optimizer, lr):
    res = train_lora(task, 2, np.random.default_rng(4), steps=400, lr=lr, init=init, init_std=0.3,
                     optimizer=optimizer)
    assert res.losses[-1] < 1e-3 * res.losses[0]
    assert np.all(np.isfinite(res.losses))


def test_rank_below_the_true_rank_plateaus(task):
    res = train_lora(task, 1, np.random.default_rng(4), steps=400, lr=0.2, init_std=0.3)
    sv = np.linalg.svd(task.delta_true, compute_uv=False)
    # the second singular direction is out of reach: the loss stays near its share of the start
    assert res.losses[-1] > 0.2 * res.losses[0] * sv[1] ** 2 / np.sum(sv**2)


def test_frozen_weight_is_not_modified(task):
    W0 = task.W0.copy()
    train_lora(task, 2, np.random.default_rng(0), steps=5)
    np.testing.assert_array_equal(task.W0, W0)


def test_divergence_is_recorded_not_raised(task):
    res = train_lora(task, 2, np.random.default_rng(0), steps=50, lr=50.0, init_std=0.3, scaling="none")
    assert np.isinf(res.losses[-1])
    assert np.isfinite(res.losses[0])


def test_train_lora_rejects_bad_arguments(task):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="lr"):
        train_lora(task, 2, rng, lr=-1.0)
    with pytest.raises(ValueError, match="optimizer"):
        train_lora(task, 2, rng, optimizer="rmsprop")
    with pytest.raises(ValueError, match="r: expected 1 <= r"):
        train_lora(task, 11, rng)


def _train_through_the_checked_functions(task, r, rng, steps, lr, alpha, optimizer, init):
    """train_lora's loop written with the public, checked functions at every step (the reference for the test below)."""
    from lora_course.layer import linear_lora_backward, linear_lora_forward
    from lora_course.lessons.l02_toy_regression import DIVERGED, init_factors, scale_for

    scale = scale_for("alpha_over_r", r, float(r) if alpha is None else alpha)
    A, B = init_factors(task.W0.shape[0], task.W0.shape[1], r, rng, init=init)
    params, m, v = [A, B], [np.zeros_like(A), np.zeros_like(B)], [np.zeros_like(A), np.zeros_like(B)]
    losses = np.full(steps + 1, np.inf)
    for t in range(steps + 1):
        if not (np.isfinite(A).all() and np.isfinite(B).all()):
            break
        H, cache = linear_lora_forward(task.X, task.W0, A, B, scale)
        if not np.isfinite(H).all():
            break
        losses[t], dH = mse_loss(H, task.Y)
        if t == steps or not losses[t] <= DIVERGED * max(losses[0], 1e-12) or not np.isfinite(losses[t]):
            break
        _, dA, dB = linear_lora_backward(dH, cache)
        for i, g in enumerate((dA, dB)):
            if optimizer == "adam":
                m[i] = 0.9 * m[i] + (1 - 0.9) * g
                v[i] = 0.999 * v[i] + (1 - 0.999) * g * g
                g = (m[i] / (1 - 0.9 ** (t + 1))) / (np.sqrt(v[i] / (1 - 0.999 ** (t + 1))) + 1e-8)
            params[i] -= lr * g
    return losses, A, B


@pytest.mark.parametrize(("r", "lr", "alpha", "optimizer", "init"), [
    (4, 0.1, None, "sgd", "paper"), (2, 0.01, 8.0, "adam", "paper"), (8, 0.1, None, "sgd", "b_random"),
    (4, 50.0, None, "sgd", "paper"),                      # diverges: the rest of the curve stays inf
    (1, 0.1, None, "adam", "b_random"),
])
def test_train_lora_gives_bit_for_bit_what_the_checked_functions_give(task, r, lr, alpha, optimizer, init):
    """The steps skip the checks (the inputs are vetted once): they must repeat exactly the checked arithmetic."""
    got = train_lora(task, r, np.random.default_rng(5), steps=60, lr=lr, alpha=alpha, optimizer=optimizer, init=init)
    want = _train_through_the_checked_functions(task, r, np.random.default_rng(5), 60, lr, alpha, optimizer, init)
    for a, b in zip((got.losses, got.A, got.B), want, strict=True):
        assert np.array_equal(a, b, equal_nan=True)


def test_train_lora_stops_at_an_infinite_first_loss_and_names_the_task_s_fields():
    task = make_task(np.random.default_rng(0), d=6, k=5, n=20, true_rank=2)
    with np.errstate(over="ignore"):
        huge = train_lora(task._replace(Y=task.Y * 1e160), 2, np.random.default_rng(1), steps=5)
    assert np.isinf(huge.losses).all() and np.isfinite(huge.A).all() and np.isfinite(huge.B).all()
    for bad, words in ((task._replace(W0=task.W0.tolist()[0]), "task.W0: expected a 2-D array"),
                       (task._replace(X=task.X[:0]), "task.X: expected a non-empty array"),
                       (task._replace(Y=task.Y[:, :3]), "task.Y: expected shape (20, 6)")):
        with pytest.raises(ValueError, match=re.escape(words)):
            train_lora(bad, 2, np.random.default_rng(1), steps=5)
    ints = ToyTask(np.ones((6, 5), np.int64), None, np.full((20, 5), 2**61, np.int64), np.zeros((20, 6)))
    first = float(np.sum((np.full((20, 6), 5.0 * 2**61)) ** 2) / 40)       # B = 0 at the start: H = X W0^T
    assert train_lora(ints, 2, np.random.default_rng(1), steps=3).losses[0] == pytest.approx(first, rel=1e-12), \
        "integer products must not wrap around"
