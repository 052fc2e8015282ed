"""Lesson 02's task checks: the solution passes, stubs are 'not implemented yet', each mistake is named."""

from __future__ import annotations

import numpy as np
import pytest
from task_helpers import assert_caught, lesson_tests

from lora_course.feedback.tasks import lesson02 as L

NB = "02_reparameterization.ipynb"

(solution, test_solution_passes_every_check_with_two_seeds, test_untouched_stubs_are_not_implemented_yet,
 test_bad_data_fails_without_raising) = lesson_tests(L, NB)


def _forward(scale_of, frozen=1.0, branch_sign=1.0):
    def forward(X, W0, A, B, alpha):
        s = scale_of(alpha, A.shape[0])
        Z = X @ A.T
        return frozen * (X @ W0.T) + branch_sign * s * Z @ B.T, (X, W0, A, B, Z, s)
    return forward


def _in_place(X, W0, A, B, alpha):
    s = alpha / A.shape[0]
    W0 += s * B @ A                                      # the mistake: the frozen weight is written to
    return X @ W0.T, (X, W0, A, B, X @ A.T, s)


def _transposed(X, W0, A, B, alpha):
    H, cache = _forward(lambda a, r: a / r)(X, W0, A, B, alpha)
    return H.T, cache


FORWARD_MISTAKES = {
    "alpha_not_alpha_over_r": (_forward(lambda a, r: a), "you used alpha"),
    "scale_missing": (_forward(lambda a, r: 1.0), "scale alpha / r is missing"),
    "scale_twice": (_forward(lambda a, r: (a / r) ** 2), "applied twice"),
    "one_over_r": (_forward(lambda a, r: 1 / r), "not 1 / r"),
    "sign": (_forward(lambda a, r: a / r, branch_sign=-1.0), "wrong sign"),
    "no_branch": (_forward(lambda a, r: 0.0), "branch is missing"),
    "no_frozen_path": (_forward(lambda a, r: a / r, frozen=0.0), "frozen path is missing"),
    "frozen_weight_changed": (_in_place, "in place"),
    "transposed": (_transposed, "transpose"),
}


@pytest.mark.parametrize("mistake", FORWARD_MISTAKES)
def test_forward_mistakes_are_named(solution, mistake):
    fn, words = FORWARD_MISTAKES[mistake]
    assert_caught(L, "forward", {**solution, "lora_layer_forward": fn}, words)


def _backward(dB_factor=1.0, dA_factor=1.0, frozen=1.0, branch=1.0, transpose_dB=False):
    def backward(G, cache):
        X, W0, A, B, Z, s = cache
        dB = dB_factor * s * G.T @ Z
        dZ = s * G @ B
        return frozen * G @ W0 + branch * dZ @ A, dA_factor * dZ.T @ X, dB.T if transpose_dB else dB
    return backward


BACKWARD_MISTAKES = {
    "divided_by_n": (_backward(dB_factor=1 / 7), "do not divide by n"),     # n = 7 in the checks
    "dB_transposed": (_backward(transpose_dB=True), "transpose"),
    "dA_scale_twice": (_backward(dA_factor=4.0), "applied twice"),     # s = 4 in the checks
    "dA_sign": (_backward(dA_factor=-1.0), "sign"),
    "dX_without_frozen_path": (_backward(frozen=0.0), "G W0 is missing"),
    "dX_without_branch": (_backward(branch=0.0), "G B A is missing"),
}


@pytest.mark.parametrize("mistake", BACKWARD_MISTAKES)
def test_backward_mistakes_are_named(solution, mistake):
    fn, words = BACKWARD_MISTAKES[mistake]
    assert_caught(L, "backward", {**solution, "lora_layer_backward": fn}, words)


def _numerical(kind):
    def numerical_gradient(f, x, h=1e-5):
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            old = x[i]
            x[i] = old + h
            plus = f()
            x[i] = old - h
            minus = f()
            if kind != "not_restored":
                x[i] = old
            if kind == "one_sided":
                x[i] = old
                grad[i] = (plus - f()) / h
            elif kind == "over_h":
                grad[i] = (plus - minus) / h
            elif kind == "sign":
                grad[i] = (minus - plus) / (2 * h)
            else:
                grad[i] = (plus - minus) / (2 * h)
        return grad
    return numerical_gradient


NUMERICAL_MISTAKES = {"one_sided": "one-sided", "over_h": "2 h", "not_restored": "restore", "sign": "sign"}


@pytest.mark.parametrize("mistake", NUMERICAL_MISTAKES)
def test_numerical_gradient_mistakes_are_named(solution, mistake):
    assert_caught(L, "numerical_gradient", {**solution, "numerical_gradient": _numerical(mistake)},
                  NUMERICAL_MISTAKES[mistake])


def _init(A_of, B_of):
    def init_lora_factors(d, k, r, std, rng):
        return A_of(d, k, r, std, rng), B_of(d, k, r, std, rng)
    return init_lora_factors


_gauss = lambda d, k, r, std, rng: rng.normal(0.0, std, size=(r, k))        # noqa: E731
_zeros = lambda d, k, r, std, rng: np.zeros((d, r))                          # noqa: E731
INIT_MISTAKES = {
    "B_random": (_init(_gauss, lambda d, k, r, std, rng: rng.normal(0.0, std, size=(d, r))), "B starts at exactly"),
    "both_zero": (_init(lambda d, k, r, std, rng: np.zeros((r, k)), _zeros), "nothing ever trains"),
    "mirrored": (_init(lambda d, k, r, std, rng: np.zeros((r, k)), lambda d, k, r, std, rng: rng.normal(size=(d, r))),
                 "mirrored"),
    "variance": (_init(lambda d, k, r, std, rng: rng.normal(0.0, std**2, size=(r, k)), _zeros), "not the variance"),
    "A_transposed": (_init(lambda d, k, r, std, rng: rng.normal(0.0, std, size=(k, r)), _zeros), "transpose"),
    "global_rng": (_init(lambda d, k, r, std, rng: np.random.default_rng().normal(0.0, std, size=(r, k)), _zeros),
                   "rng argument"),
    "swapped": (lambda d, k, r, std, rng: (np.zeros((d, r)), rng.normal(0.0, std, size=(r, k))), "swapped"),
}


@pytest.mark.parametrize("mistake", INIT_MISTAKES)
def test_init_mistakes_are_named(solution, mistake):
    fn, words = INIT_MISTAKES[mistake]
    assert_caught(L, "init", {**solution, "init_lora_factors": fn}, words)
