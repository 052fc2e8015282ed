"""Serving one batch whose rows belong to different tasks, each with its own LoRA adapter.

Three ways to compute H[i] = W0 x_i + scale_t B_t A_t x_i with t = task_ids[i] (rows of X are x_i):

1. ``merge_per_task``: for each task present, merge W_t = W0 + scale_t B_t A_t and run its rows through
   the dense W_t (a merge costs d k r multiply-adds; with one row per request, one merge per row).
2. ``loop_per_adapter``: X W0^T once for the whole batch, then one low-rank branch per task on its
   sub-batch (``lora_course.layer.lora_forward``).
3. ``gathered``: X W0^T once, then every row's own A (r, k) and B (d, r) gathered from stacked arrays
   (n_tasks, r, k) and (n_tasks, d, r) and applied in one batched computation, no loop over tasks.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from lora_course.layer import lora_forward
from lora_course.merge import Adapter, merge
from lora_course.validation import (
    InputError,
    as_float_array,
    as_ints,
    check_adapter,
    check_int,
    check_positive_int,
    check_sequence,
    check_shape,
)

METHODS = ("merge_per_task", "loop_per_adapter", "gathered")


def _check_adapters(adapters, W0: np.ndarray) -> list:
    adapters = check_sequence("adapters", adapters, min_len=1)
    d, k = W0.shape
    for i, ad in enumerate(adapters):
        A, B, _ = check_adapter(f"adapters[{i}]", ad)
        check_shape(f"adapters[{i}].A", A, (None, k), f"= (r, k) with k = W0.shape[1] = {k}")
        check_shape(f"adapters[{i}].B", B, (d, A.shape[0]), f"= (d, r) with d = W0.shape[0] = {d}, r = {A.shape[0]}")
    return adapters


def _check_batch(W0: np.ndarray, X: np.ndarray, task_ids, n_tasks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    W0 = as_float_array("W0", W0, ndim=2)
    X = as_float_array("X", X, ndim=2)
    check_shape("X", X, (None, W0.shape[1]), f"= (n, k) with k = W0.shape[1] = {W0.shape[1]}")
    ids = as_ints("task_ids", task_ids)
    check_shape("task_ids", ids, (X.shape[0],), f"= (n,) with n = {X.shape[0]} rows of X")
    if ids.size and (ids.min() < 0 or ids.max() >= n_tasks):
        raise InputError(f"task_ids: expected indices in [0, {n_tasks - 1}], got values in [{ids.min()}, {ids.max()}]")
    return W0, X, ids


def merge_per_task(W0: np.ndarray, adapters: Sequence[Adapter], X: np.ndarray, task_ids) -> np.ndarray:
    """X (n, k), task_ids (n,) -> H (n, d): merge once per task present, dense matmul on its rows."""
    W0, X, ids = _check_batch(W0, X, task_ids, len(_check_adapters(adapters, as_float_array("W0", W0, ndim=2))))
    H = np.empty((X.shape[0], W0.shape[0]), dtype=np.result_type(W0, X))
    for t in np.unique(ids):
        rows = ids == t
        H[rows] = X[rows] @ merge(W0, adapters[t]).T
    return H


def loop_per_adapter(W0: np.ndarray, adapters: Sequence[Adapter], X: np.ndarray, task_ids) -> np.ndarray:
    """X (n, k), task_ids (n,) -> H (n, d): shared X W0^T, then one LoRA branch per task's sub-batch."""
    W0, X, ids = _check_batch(W0, X, task_ids, len(_check_adapters(adapters, as_float_array("W0", W0, ndim=2))))
    H = X @ W0.T
    for t in np.unique(ids):
        rows = ids == t
        delta, _ = lora_forward(X[rows], *adapters[t])
        H[rows] += delta
    return H


def stack_adapters(adapters: Sequence[Adapter]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A (n_tasks, r_max, k), B (n_tasks, d, r_max), scales (n_tasks,); lower ranks are zero-padded,
    which changes nothing since padded rows of A meet padded columns of B."""
    adapters = [check_adapter(f"adapters[{i}]", ad)
                for i, ad in enumerate(check_sequence("adapters", adapters, min_len=1))]
    k, d = adapters[0][0].shape[1], adapters[0][1].shape[0]
    r_max = max(A_i.shape[0] for A_i, _, _ in adapters)
    A = np.zeros((len(adapters), r_max, k))
    B = np.zeros((len(adapters), d, r_max))
    for i, (A_i, B_i, _) in enumerate(adapters):
        check_shape(f"adapters[{i}].A", A_i, (None, k), f"= (r, k) with k = {k} like adapters[0]")
        r = A_i.shape[0]
        check_shape(f"adapters[{i}].B", B_i, (d, r), f"= (d, r) with d = {d}, r = {r}")
        A[i, :r], B[i, :, :r] = A_i, B_i
    return A, B, np.array([scale for _, _, scale in adapters], dtype=float)


def gathered(W0: np.ndarray, stacked: tuple[np.ndarray, np.ndarray, np.ndarray], X: np.ndarray,
             task_ids) -> np.ndarray:
    """X (n, k), task_ids (n,) -> H (n, d) with ``stacked`` = ``stack_adapters(adapters)``.

    Z[i] = A[t_i] x_i (n, r) and delta[i] = scale[t_i] B[t_i] Z[i] (n, d): two batched products.
    """
    if not isinstance(stacked, (tuple, list)) or len(stacked) != 3:
        raise InputError(f"stacked: expected the (A, B, scales) tuple of stack_adapters, got {type(stacked).__name__}")
    A = as_float_array("stacked[0]", stacked[0], ndim=3)
    B = as_float_array("stacked[1]", stacked[1], ndim=3)
    scales = as_float_array("stacked[2]", stacked[2], ndim=1)
    W0, X, ids = _check_batch(W0, X, task_ids, A.shape[0])
    check_shape("stacked[0]", A, (None, None, W0.shape[1]), f"= (n_tasks, r, k) with k = {W0.shape[1]}")
    check_shape("stacked[1]", B, (A.shape[0], W0.shape[0], A.shape[1]), "= (n_tasks, d, r) matching A and W0")
    check_shape("stacked[2]", scales, (A.shape[0],), "= (n_tasks,) like A")
    Z = np.einsum("nrk,nk->nr", A[ids], X)                  # (n, r): each row's own down-projection
    delta = np.einsum("ndr,nr->nd", B[ids], Z)              # (n, d): each row's own up-projection
    return X @ W0.T + scales[ids][:, None] * delta


def round_robin_ids(n_rows: int, n_distinct: int) -> np.ndarray:
    """Task index of each row when ``n_distinct`` tasks share ``n_rows`` rows as evenly as possible."""
    n_rows = check_positive_int("n_rows", n_rows)
    n_distinct = check_positive_int("n_distinct", n_distinct, n_rows)
    return np.arange(n_rows) % n_distinct


def throughput_sweep(W0: np.ndarray, adapters: Sequence[Adapter], X: np.ndarray, distinct_counts: Sequence[int],
                     repeats: int = 5) -> dict[str, np.ndarray]:
    """Rows per second of each method (median of ``repeats``) for each number of distinct tasks in the batch.

    Returns {method: (len(distinct_counts),)}; rows are assigned to tasks round-robin.
    """
    repeats = check_positive_int("repeats", repeats)
    W0 = as_float_array("W0", W0, ndim=2)
    adapters = _check_adapters(adapters, W0)
    X = as_float_array("X", X, ndim=2)
    _check_batch(W0, X, np.zeros(X.shape[0], dtype=int), len(adapters))
    counts = check_sequence("distinct_counts", distinct_counts, min_len=1)
    for c in counts:
        check_int("distinct_counts", c, 1)
    stacked = stack_adapters(adapters)
    fns = {"merge_per_task": lambda ids: merge_per_task(W0, adapters, X, ids),
           "loop_per_adapter": lambda ids: loop_per_adapter(W0, adapters, X, ids),
           "gathered": lambda ids: gathered(W0, stacked, X, ids)}
    out = {m: np.empty(len(distinct_counts)) for m in METHODS}
    for j, n_distinct in enumerate(distinct_counts):
        if n_distinct > len(adapters):
            raise InputError(f"distinct_counts: expected at most {len(adapters)} (adapters given), got {n_distinct}")
        ids = round_robin_ids(X.shape[0], n_distinct)
        times = {m: [] for m in METHODS}
        for i in range(repeats + 1):                       # first round is a warm-up
            for m in METHODS[i % 3:] + METHODS[: i % 3]:
                start = time.perf_counter()
                fns[m](ids)
                if i:
                    times[m].append(time.perf_counter() - start)
        for m in METHODS:
            out[m][j] = X.shape[0] / float(np.median(times[m]))
    return out
