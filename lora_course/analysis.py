"""What a learned update looks like: subspace similarity (paper, 7.2) and amplification (7.3)."""

from __future__ import annotations

import numpy as np

from lora_course.validation import InputError, as_array, check_positive_int, check_shape


def _right_singular_vectors(A: np.ndarray, name: str) -> np.ndarray:
    A = as_array(name, A, ndim=2)
    _, _, Vt = np.linalg.svd(A, full_matrices=False)
    return Vt.T  # (k, r): columns are right-singular vectors, largest first


def subspace_similarity_grid(A1: np.ndarray, A2: np.ndarray) -> np.ndarray:
    """phi(i, j) = ||U_i^T U_j||_F^2 / min(i, j) for all i <= r1, j <= r2: shape (r1, r2).

    A1: (r1, k), A2: (r2, k); U_i are the top-i right-singular vectors. Entry [i-1, j-1] is phi(i, j).
    """
    U1 = _right_singular_vectors(A1, "A1")
    U2 = _right_singular_vectors(A2, "A2")
    check_shape("A2", np.asarray(A2), (None, U1.shape[0]), f"= (r2, k) with k = {U1.shape[0]} like A1")
    overlap = (U1.T @ U2) ** 2                               # (r1, r2)
    cum = np.cumsum(np.cumsum(overlap, axis=0), axis=1)      # ||U_i^T U_j||_F^2
    i = np.arange(1, overlap.shape[0] + 1)[:, None]
    j = np.arange(1, overlap.shape[1] + 1)[None, :]
    return cum / np.minimum(i, j)


def subspace_similarity(A1: np.ndarray, A2: np.ndarray, i: int, j: int) -> float:
    """phi(A1, A2, i, j) in [0, 1]: how much of the top-i directions of A1 the top-j of A2 span."""
    grid = subspace_similarity_grid(A1, A2)
    i = check_positive_int("i", i, grid.shape[0])
    j = check_positive_int("j", j, grid.shape[1])
    return float(grid[i - 1, j - 1])


def amplification_factor(dW: np.ndarray, W: np.ndarray, r: int) -> float:
    """||dW||_F / ||U^T W V^T||_F with U (d, r), V^T (r, k) the top-r singular vectors of dW.

    Large values mean dW strongly amplifies directions W itself barely uses.
    """
    dW = as_array("dW", dW, ndim=2)
    W = as_array("W", W, ndim=2)
    check_shape("W", W, dW.shape, "= dW's shape")
    r = check_positive_int("r", r, min(dW.shape))
    U, S, Vt = np.linalg.svd(dW, full_matrices=False)
    rank = int(np.sum(S > S[0] * max(dW.shape) * np.finfo(float).eps)) if S[0] > 0 else 0
    if r > rank:
        raise InputError(f"r: expected r <= rank(dW) = {rank} (beyond it the top-r directions are an arbitrary "
                         f"basis of dW's null space), got {r}")
    projected = U[:, :r].T @ W @ Vt[:r].T    # (r, r)
    return float(np.linalg.norm(dW) / np.linalg.norm(projected))
