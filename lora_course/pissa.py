"""PiSSA (Meng et al., 2024, arXiv:2404.02948): start the adapter on W0's principal singular directions.

Section 3 of the paper: with the SVD  W0 = U S V^T  (the lesson 01 SVD),

    A     = sqrt(S_r / scale) V_r^T           (r, k)
    B     = U_r sqrt(S_r / scale)             (d, r)
    W_res = W0 - scale B A                    (d, k)  frozen: W0 minus its best rank-r approximation

so the layer X W_res^T + scale X A^T B^T equals X W0^T at step 0, and training moves the top r directions
while the rest stays frozen. The singular values are split evenly (a square root to each factor), as in the
paper and PEFT; dividing by ``scale`` makes scale B A the rank-r part whatever alpha is.

An SVD is unique only up to the sign of each singular pair (u_i, v_i). ``pissa_init`` fixes it (the entry of
largest magnitude in each column of U_r is positive); ``canonical_signs`` applies the same rule to any (A, B).
"""

from __future__ import annotations

import numpy as np

from lora_course.validation import InputError, as_array, check_rank, check_scale, check_shape


def canonical_signs(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(A (r, k), B (d, r)) with each rank direction's sign flipped so that B's largest-|.| entry per column is
    positive. B A is unchanged; two factorisations from different SVD routines become comparable."""
    A = as_array("A", A, ndim=2)
    B = as_array("B", B, ndim=2)
    check_shape("B", B, (None, A.shape[0]), f"= (d, r) with r = A.shape[0] = {A.shape[0]}")
    if B.shape[0] == 0:
        return A.copy(), B.copy()
    pick = B[np.argmax(np.abs(B), axis=0), np.arange(B.shape[1])]       # (r,)
    signs = np.where(pick < 0, -1.0, 1.0)
    return signs[:, None] * A, B * signs[None, :]


def pissa_init(W0: np.ndarray, r: int, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """W0 (d, k) -> (A (r, k), B (d, r), W_res (d, k)) with W_res + scale B A = W0 (to rounding)."""
    W0 = as_array("W0", W0, ndim=2, allow_empty=False)
    r = check_rank(r, *W0.shape)
    scale = check_scale(scale)
    if scale <= 0:
        raise InputError(f"scale: expected a finite number > 0 (its square root splits the singular values), got "
                         f"{scale!r}")
    U, S, Vt = np.linalg.svd(W0, full_matrices=False)           # (d, p), (p,), (p, k)
    root = np.sqrt(S[:r] / scale)                               # (r,)
    A, B = canonical_signs(root[:, None] * Vt[:r], U[:, :r] * root[None, :])
    return A, B, W0 - scale * (B @ A)
