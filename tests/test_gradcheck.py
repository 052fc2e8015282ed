"""The gradient checker itself must be right before it judges anything else."""

import numpy as np
import pytest

from lora_course.gradcheck import numerical_gradient, numerical_gradient_array, rel_error


def test_numerical_gradient_of_a_quadratic():
    x = np.array([1.0, -2.0, 3.0])
    g = numerical_gradient(lambda: float(np.sum(x**2)), x)
    assert rel_error(g, 2 * x) < 1e-9
    assert np.array_equal(x, [1.0, -2.0, 3.0]), "x is restored after perturbation"


def test_numerical_gradient_array_of_a_matmul():
    rng = np.random.default_rng(0)
    W, X = rng.normal(size=(3, 4)), rng.normal(size=(5, 4))
    dout = rng.normal(size=(5, 3))
    assert rel_error(numerical_gradient_array(lambda: X @ W.T, W, dout), dout.T @ X) < 1e-8


def test_rel_error_detects_a_wrong_gradient():
    assert rel_error(np.ones(3), np.ones(3) * 1.01) > 1e-3
    with pytest.raises(ValueError, match=r"\(2,\) and \(3,\)"):
        rel_error(np.ones(2), np.ones(3))
