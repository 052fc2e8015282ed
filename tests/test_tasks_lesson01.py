"""Lesson 01's task checks: the solution passes, stubs are 'not implemented yet', each mistake is named."""

from __future__ import annotations

import numpy as np
import pytest
from task_helpers import assert_caught, lesson_tests

from lora_course.feedback.tasks import lesson01 as L

NB = "01_rank.ipynb"

(solution, test_solution_passes_every_check_with_two_seeds, test_untouched_stubs_are_not_implemented_yet,
 test_bad_data_fails_without_raising) = lesson_tests(L, NB)


def _eig(M):
    w, V = np.linalg.eigh(M.T @ M)
    return w, V


def _good_svd(M):
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return U, s, Vt


def _flip_u(M):
    U, s, Vt = _good_svd(M)
    U = U.copy()
    U[:, 1] *= -1
    return U, s, Vt


def _not_reordered(M):
    w, V = _eig(M)
    s = np.sqrt(w)[::-1]
    return M @ V / s, s, V.T


SVD_MISTAKES = {
    "swapped": (lambda M: (_good_svd(M)[2].T, _good_svd(M)[1], _good_svd(M)[0].T), "swapped"),
    "squares": (lambda M: (_good_svd(M)[0], _good_svd(M)[1] ** 2, _good_svd(M)[2]), "square root"),
    "ascending": (lambda M: (M @ _eig(M)[1] / np.sqrt(_eig(M)[0]), np.sqrt(_eig(M)[0]), _eig(M)[1].T), "ascending"),
    "vectors_not_reordered": (_not_reordered, "reorder"),
    "returned_V": (lambda M: (_good_svd(M)[0], _good_svd(M)[1], _good_svd(M)[2].T), "returned V"),
    "unnormalised_U": (lambda M: (M @ _good_svd(M)[2].T, _good_svd(M)[1], _good_svd(M)[2]), "divide by sigma"),
    "unpaired_signs": (_flip_u, "paired"),
}


@pytest.mark.parametrize("mistake", SVD_MISTAKES)
def test_svd_mistakes_are_named(solution, mistake):
    fn, words = SVD_MISTAKES[mistake]
    assert_caught(L, "svd", {**solution, "svd_by_eig": fn}, words)


def _trunc(M, r, lo=0, power=1.0):
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    idx = slice(lo, lo + r)
    return U[:, idx] * s[idx] ** power, Vt[idx]


FACTOR_MISTAKES = {
    "order": (lambda M, r: _trunc(M, r)[::-1], "you returned (A, B)"),
    "sigma_twice": (lambda M, r: (_trunc(M, r)[0], _trunc(M, r)[1] * np.linalg.svd(M)[1][:r, None]), "both factors"),
    "no_sigma": (lambda M, r: _trunc(M, r, power=0.0), "singular values are missing"),
    "smallest": (lambda M, r: _trunc(M, r, lo=M.shape[1] - r), "smallest"),
    "r_plus_1": (lambda M, r: _trunc(M, r + 1), "you kept 3 directions"),
}


@pytest.mark.parametrize("mistake", FACTOR_MISTAKES)
def test_factor_mistakes_are_named(solution, mistake):
    fn, words = FACTOR_MISTAKES[mistake]
    assert_caught(L, "factor", {**solution, "factor_rank_r": fn}, words)


def _tail(v, shift=0):
    return np.array([v[r + shift:].sum() for r in range(len(v) + 1)])


ERROR_MISTAKES = {
    "not_squared": (lambda s: np.sqrt(_tail(s) / s.sum()), "square the singular values"),
    "no_sqrt": (lambda s: _tail(s**2) / (s**2).sum(), "square root"),
    "off_by_one": (lambda s: np.sqrt(np.append(_tail(s**2, 1)[:-1], 0.0) / (s**2).sum()), "i > r"),
    "absolute": (lambda s: np.sqrt(_tail(s**2)), "relative"),
    "one_short": (lambda s: np.sqrt(_tail(s**2) / (s**2).sum())[1:], "one entry for every r"),
}


@pytest.mark.parametrize("mistake", ERROR_MISTAKES)
def test_error_mistakes_are_named(solution, mistake):
    fn, words = ERROR_MISTAKES[mistake]
    assert_caught(L, "errors", {**solution, "rank_r_errors": fn}, words)
