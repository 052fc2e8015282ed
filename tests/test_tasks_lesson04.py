"""Lesson 04's task checks: the solution passes, stubs are 'not implemented yet', each mistake is named."""

from __future__ import annotations

import numpy as np
import pytest
from task_helpers import assert_caught, lesson_tests

from lora_course.feedback.tasks import lesson04 as L

NB = "04_merging_and_deployment.ipynb"

(solution, test_solution_passes_every_check_with_two_seeds, test_untouched_stubs_are_not_implemented_yet,
 test_bad_data_fails_without_raising) = lesson_tests(L, NB)


def _merge_in_place(W0, A, B, scale):
    W0 += scale * B @ A                                  # the mistake: W0 is frozen and shared
    return W0


def _unmerge_in_place(W, A, B, scale):
    W -= scale * B @ A
    return W


MISTAKES = {
    ("merge", "in_place"): ("merge_weight", _merge_in_place, "in place"),
    ("merge", "no_scale"): ("merge_weight", lambda W0, A, B, s: W0 + B @ A, "scale is missing"),
    ("merge", "minus"): ("merge_weight", lambda W0, A, B, s: W0 - s * B @ A, "not minus"),
    ("merge", "delta_only"): ("merge_weight", lambda W0, A, B, s: s * B @ A, "frozen weight is missing"),
    ("unmerge", "plus"): ("unmerge_weight", lambda W, A, B, s: W + s * B @ A, "subtracts"),
    ("unmerge", "no_scale"): ("unmerge_weight", lambda W, A, B, s: W - B @ A, "scale is missing"),
    ("unmerge", "in_place"): ("unmerge_weight", _unmerge_in_place, "in place"),
    ("switch", "adds_old"): ("switch_weight", lambda W, o, n: W + n[2] * n[1] @ n[0] + o[2] * o[1] @ o[0],
                             "subtracted, not added"),
    ("switch", "old_kept"): ("switch_weight", lambda W, o, n: W + n[2] * n[1] @ n[0], "still in W"),
    ("switch", "swapped"): ("switch_weight", lambda W, o, n: W - n[2] * n[1] @ n[0] + o[2] * o[1] @ o[0],
                            "swapped"),
    ("switch", "one_scale"): ("switch_weight", lambda W, o, n: W + o[2] * (n[1] @ n[0] - o[1] @ o[0]), "own scale"),
}


def _switch_in_place(W, old, new):
    W += new[2] * new[1] @ new[0] - old[2] * old[1] @ old[0]
    return W


MISTAKES["switch", "in_place"] = ("switch_weight", _switch_in_place, "in place")


def _gathered(task_of_row, scale=True, frozen=True):
    def gathered_forward(W0, A_stack, B_stack, scales, X, ids):
        t = task_of_row(ids, len(X))
        Z = np.einsum("nrk,nk->nr", A_stack[t], X)
        delta = np.einsum("ndr,nr->nd", B_stack[t], Z)
        s = scales[t][:, None] if scale is True else (1.0 if scale is False else scales[scale(ids)])
        return (X @ W0.T if frozen else 0.0) + s * delta
    return gathered_forward


def _sum_all(W0, A_stack, B_stack, scales, X, ids):
    return X @ W0.T + np.einsum("t,ntd->nd", scales, np.einsum("tdr,trk,nk->ntd", B_stack, A_stack, X))


MISTAKES.update({
    ("gathered", "first_row"): ("gathered_forward", _gathered(lambda ids, n: np.full(n, ids[0])), "first row's"),
    ("gathered", "adapter_0"): ("gathered_forward", _gathered(lambda ids, n: np.zeros(n, int)), "every row used"),
    ("gathered", "sum_all"): ("gathered_forward", _sum_all, "sum of all adapters"),
    ("gathered", "row_number"): ("gathered_forward", _gathered(lambda ids, n: np.arange(n) % 3), "row number"),
    ("gathered", "no_scales"): ("gathered_forward", _gathered(lambda ids, n: ids, scale=False), "scales are missing"),
    ("gathered", "one_scale"): ("gathered_forward", _gathered(lambda ids, n: ids, scale=lambda ids: ids[0]),
                                "own scale"),
    ("gathered", "no_frozen"): ("gathered_forward", _gathered(lambda ids, n: ids, frozen=False), "frozen path"),
})


@pytest.mark.parametrize("key", MISTAKES, ids=["-".join(k) for k in MISTAKES])
def test_mistakes_are_named(solution, key):
    name, fn, words = MISTAKES[key]
    assert_caught(L, key[0], {**solution, name: fn}, words)
