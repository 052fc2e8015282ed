"""Lesson 03's task checks: the solution passes, stubs are 'not implemented yet', each mistake is named."""

from __future__ import annotations

import numpy as np
import pytest
from task_helpers import assert_caught, lesson_tests

from lora_course.feedback.tasks import lesson03 as L

NB = "03_targets_and_rank.ipynb"

(solution, test_solution_passes_every_check_with_two_seeds, test_untouched_stubs_are_not_implemented_yet,
 test_bad_data_fails_without_raising) = lesson_tests(L, NB)


def _qkv(targets=("q", "v"), which=None, transpose_W=False, scale_on=True, frozen=True, b_first=False):
    which = which or {t: t for t in targets}

    def adapted_qkv(X, weights, adapters, scale):
        out = []
        for t in "qkv":
            P = (X @ (weights[t] if transpose_W else weights[t].T)) if frozen else np.zeros(X.shape)
            if t in which:
                A, B = adapters[which[t]]
                branch = X @ B @ A if b_first else X @ A.T @ B.T
                P = P + (scale if scale_on else 1.0) * branch
            out.append(P)
        return tuple(out)
    return adapted_qkv


def _in_place(X, weights, adapters, scale):
    A, B = adapters["q"]
    weights["q"] += scale * B @ A                     # the mistake: the frozen Wq is written to
    return X @ weights["q"].T, X @ weights["k"].T, X @ weights["v"].T + scale * X @ adapters["v"][0].T @ \
        adapters["v"][1].T


QKV_MISTAKES = {
    "k_instead_of_v": (_qkv(which={"q": "q", "k": "v"}), "K carries the adapter"),
    "q_uses_v_adapter": (_qkv(which={"q": "v", "v": "v"}), "adapter of v"),
    "no_transpose": (_qkv(transpose_W=True), "X @ Wq.T"),
    "scale_missing": (_qkv(scale_on=False), "scale is missing"),
    "v_not_adapted": (_qkv(targets=("q",)), "no LoRA branch"),
    "b_first": (_qkv(b_first=True), "projects down first"),
    "no_frozen_path": (_qkv(frozen=False), "frozen path"),
    "weights_changed": (_in_place, "in place"),
}


@pytest.mark.parametrize("mistake", QKV_MISTAKES)
def test_adapted_qkv_mistakes_are_named(solution, mistake):
    fn, words = QKV_MISTAKES[mistake]
    assert_caught(L, "adapted_qkv", {**solution, "adapted_qkv": fn}, words)


def _phi(power=2, norm=min, vectors="right"):
    def phi(A1, A2, i, j):
        if vectors == "left":
            U1, U2 = np.linalg.svd(A1)[0][:, :i], np.linalg.svd(A2)[0][:, :j]
        elif vectors == "columns":
            U1, U2 = np.linalg.svd(A1, full_matrices=False)[2][:, :i], np.linalg.svd(A2, full_matrices=False)[2][:, :j]
        else:
            U1, U2 = np.linalg.svd(A1, full_matrices=False)[2][:i].T, np.linalg.svd(A2, full_matrices=False)[2][:j].T
        value = np.linalg.norm(U1.T @ U2) ** power
        return value / norm(i, j) if norm else value
    return phi


PHI_MISTAKES = {
    "not_squared": (_phi(power=1), "square the Frobenius norm"),
    "max": (_phi(norm=max), "not max"),
    "no_division": (_phi(norm=None), "divide by min"),
    "left_vectors": (_phi(vectors="left"), "RIGHT-singular"),
    "columns_of_Vt": (_phi(vectors="columns"), "ROWS of V^T"),
}


@pytest.mark.parametrize("mistake", PHI_MISTAKES)
def test_phi_mistakes_are_named(solution, mistake):
    fn, words = PHI_MISTAKES[mistake]
    assert_caught(L, "phi", {**solution, "subspace_similarity_phi": fn}, words)
