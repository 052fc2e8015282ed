"""DoRA: the layer starts at W0 exactly, the merged weight gives the forward's outputs, gradients match
finite differences (exact) and the paper's detached-norm gradient differs only in A and B."""

import numpy as np
import pytest

from lora_course.dora import dora_backward, dora_forward, dora_magnitude, dora_weight
from lora_course.gradcheck import numerical_gradient_array, rel_error
from lora_course.validation import InputError


def _setup(seed=0, d=5, k=7, r=2, n=4):
    rng = np.random.default_rng(seed)
    W0 = rng.normal(size=(d, k))
    return (rng.normal(size=(n, k)), W0, rng.normal(size=(r, k)), rng.normal(size=(d, r)),
            dora_magnitude(W0) * rng.uniform(0.5, 1.5, size=d), rng.normal(size=(n, d)))


def test_magnitude_is_one_norm_per_output_feature():
    W0 = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 2.0]])
    assert np.array_equal(dora_magnitude(W0), [5.0, 2.0])


def test_step_zero_is_the_frozen_weight_exactly():
    X, W0, A, _, _, _ = _setup()
    B = np.zeros((W0.shape[0], A.shape[0]))
    W = dora_weight(W0, A, B, dora_magnitude(W0), 3.0)
    assert np.allclose(W, W0, rtol=0, atol=1e-15)
    H, _ = dora_forward(X, W0, A, B, dora_magnitude(W0), 3.0)
    assert np.allclose(H, X @ W0.T, rtol=0, atol=1e-13)


def test_rows_of_the_merged_weight_have_norm_m():
    _, W0, A, B, m, _ = _setup(1)
    assert np.allclose(np.linalg.norm(dora_weight(W0, A, B, m, 0.7), axis=1), m)


def test_merged_weight_gives_the_forward_outputs():
    X, W0, A, B, m, _ = _setup(2)
    H, _ = dora_forward(X, W0, A, B, m, 1.5)
    assert np.allclose(X @ dora_weight(W0, A, B, m, 1.5).T, H)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_gradients_match_finite_differences(seed):
    X, W0, A, B, m, G = _setup(seed)
    _, cache = dora_forward(X, W0, A, B, m, 1.5)
    dX, dA, dB, dm = dora_backward(G, cache, detach_norm=False)
    for param, analytic in ((X, dX), (A, dA), (B, dB), (m, dm)):
        numeric = numerical_gradient_array(lambda: dora_forward(X, W0, A, B, m, 1.5)[0], param, G)
        assert rel_error(numeric, analytic) < 1e-7


def test_detached_norm_changes_only_the_factor_gradients():
    X, W0, A, B, m, G = _setup(3)
    _, cache = dora_forward(X, W0, A, B, m, 1.5)
    exact, paper = dora_backward(G, cache, detach_norm=False), dora_backward(G, cache)
    assert np.allclose(exact[0], paper[0]) and np.allclose(exact[3], paper[3])
    assert not np.allclose(exact[2], paper[2])
    # detached: dV = (m / ||V||) dW, so dB = scale dV A^T
    V = W0 + 1.5 * B @ A
    dV = (m / np.linalg.norm(V, axis=1))[:, None] * (G.T @ X)
    assert np.allclose(paper[2], 1.5 * dV @ A.T) and np.allclose(paper[1], 1.5 * B.T @ dV)


def test_a_zero_row_is_refused():
    W0 = np.array([[1.0, 2.0], [0.0, 0.0]])
    with pytest.raises(InputError, match="W0: expected every row"):
        dora_magnitude(W0)
