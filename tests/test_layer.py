"""The LoRA layer: frozen start, exact gradients, shapes and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lora_course.gradcheck import numerical_gradient_array, rel_error
from lora_course.layer import LoRA, init_lora, linear_lora_backward, linear_lora_forward, lora_forward, scale_factor


def make(d=5, k=4, r=2, n=3, seed=0, trained=True):
    rng = np.random.default_rng(seed)
    W0 = rng.normal(size=(d, k))
    A, B = init_lora(d, k, r, rng, std=0.5)
    if trained:
        B = rng.normal(size=(d, r))
    X = rng.normal(size=(n, k))
    return rng, W0, A, B, X


def test_b_zero_gives_exactly_the_frozen_output():
    _, W0, A, B, X = make(trained=False)
    assert np.all(B == 0)
    H, _ = linear_lora_forward(X, W0, A, B, scale_factor(2))
    assert np.array_equal(H, X @ W0.T)


def test_init_shapes_and_std():
    rng = np.random.default_rng(1)
    A, B = init_lora(300, 200, 8, rng, std=0.02)
    assert A.shape == (8, 200) and B.shape == (300, 8)
    assert abs(A.std() - 0.02) < 0.002 and not B.any()


def test_forward_matches_column_vector_formula():
    _, W0, A, B, X = make()
    scale = scale_factor(2, alpha=3.0)
    H, _ = linear_lora_forward(X, W0, A, B, scale)
    for x, h in zip(X, H, strict=True):
        assert np.allclose(h, W0 @ x + scale * B @ A @ x)


@pytest.mark.parametrize("seed", range(3))
def test_gradients_match_numerical(seed):
    _, W0, A, B, X = make(seed=seed)
    scale = scale_factor(2, alpha=4.0)
    H, cache = linear_lora_forward(X, W0, A, B, scale)
    dH = np.random.default_rng(seed + 10).normal(size=H.shape)
    dX, dA, dB = linear_lora_backward(dH, cache)

    def f():
        return linear_lora_forward(X, W0, A, B, scale)[0]

    assert rel_error(dX, numerical_gradient_array(f, X, dH)) < 1e-7
    assert rel_error(dA, numerical_gradient_array(f, A, dH)) < 1e-7
    assert rel_error(dB, numerical_gradient_array(f, B, dH)) < 1e-7


@settings(max_examples=30, deadline=None)
@given(d=st.integers(1, 7), k=st.integers(1, 7), n=st.integers(1, 4), data=st.data())
def test_gradients_property(d, k, n, data):
    r = data.draw(st.integers(1, min(d, k)))
    rng = np.random.default_rng(d * 100 + k * 10 + n)
    W0, A, B, X = rng.normal(size=(d, k)), rng.normal(size=(r, k)), rng.normal(size=(d, r)), rng.normal(size=(n, k))
    H, cache = linear_lora_forward(X, W0, A, B, 0.7)
    assert H.shape == (n, d)
    dH = rng.normal(size=H.shape)
    dX, dA, dB = linear_lora_backward(dH, cache)
    f = lambda: linear_lora_forward(X, W0, A, B, 0.7)[0]  # noqa: E731
    for grad, x in ((dX, X), (dA, A), (dB, B)):
        num = numerical_gradient_array(f, x, dH)
        # whole-array relative error: entries near zero make the elementwise ratio noisy
        assert np.linalg.norm(grad - num) / max(1e-12, np.linalg.norm(grad) + np.linalg.norm(num)) < 1e-8


def test_scale_factors():
    assert scale_factor(8) == 1.0
    assert scale_factor(4, alpha=8) == 2.0
    assert scale_factor(4, alpha=8, rslora=True) == 4.0
    with pytest.raises(ValueError, match="alpha"):
        scale_factor(4, alpha=0)


def test_lora_class_trains_towards_target():
    rng = np.random.default_rng(3)
    d, k, r = 6, 5, 2
    target = rng.normal(size=(d, r)) @ rng.normal(size=(r, k))
    layer = LoRA(k, d, r, init_scale=0.5, rng=rng)
    X = rng.normal(size=(64, k))
    losses = []
    for _ in range(2000):
        delta, cache = layer.forward(X)
        err = delta - X @ target.T
        losses.append(float(np.mean(err**2)))
        layer.backward(2 * err / err.size, cache)
        layer.update(0.2)
    assert losses[-1] < 1e-3 * losses[0]
    assert layer.get_merged_delta().shape == (d, k) and layer.n_params == r * (d + k)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda A, B, X: lora_forward(X, A, B.T, 1.0), r"B: expected shape \(\?, 2\) = \(d, r\).*got \(2, 5\)"),
        (lambda A, B, X: lora_forward(X[:, :3], A, B, 1.0), r"X: expected shape \(\?, 4\).*got \(3, 3\)"),
        (lambda A, B, X: lora_forward(X * np.nan, A, B, 1.0), "X: expected finite values"),
        (lambda A, B, X: lora_forward(X[0], A, B, 1.0), "X: expected a 2-D array"),
        (lambda A, B, X: init_lora(5, 4, 0, np.random.default_rng(0)), "r: expected 1 <= r"),
        (lambda A, B, X: init_lora(5, 4, 5, np.random.default_rng(0)), r"min\(d, k\) = 4.*got 5"),
        (lambda A, B, X: init_lora(5, 4, 2, 42), "rng: expected a numpy Generator"),
        (lambda A, B, X: LoRA(4, 5, 2, alpha=-1.0, rng=np.random.default_rng(0)), "alpha: expected"),
        (lambda A, B, X: LoRA(4, 5, 2), "rng: expected a numpy Generator"),
    ],
)
def test_bad_input_names_expected_and_received(call, match):
    _, _, A, B, X = make()
    with pytest.raises((ValueError, TypeError), match=match):
        call(A, B, X)
