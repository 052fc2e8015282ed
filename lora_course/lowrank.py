"""Rank, low-rank factorization, best rank-r approximation and parameter counts."""

from __future__ import annotations

import numpy as np

from lora_course.validation import as_array, check_bool, check_number, check_positive_int, check_rank


def matrix_rank(M: np.ndarray, tol: float | None = None) -> int:
    """Number of singular values of ``M`` (d, k) above ``tol`` (default: numpy's tolerance)."""
    M = as_array("M", M, ndim=2)
    if tol is not None:
        tol = check_number("tol", tol, minimum=0, strict=False)
    return int(np.linalg.matrix_rank(M, tol=tol))


def singular_values(M: np.ndarray) -> np.ndarray:
    """Singular values of ``M`` (d, k), largest first: shape (min(d, k),)."""
    return np.linalg.svd(as_array("M", M, ndim=2), compute_uv=False)


def factorize(M: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``M`` (d, k) into ``B`` (d, r) and ``A`` (r, k) with ``B @ A`` its best rank-r approximation.

    For a matrix whose rank is at most r, ``B @ A`` equals ``M`` up to rounding.
    """
    M = as_array("M", M, ndim=2)
    d, k = M.shape
    r = check_rank(r, d, k)
    U, S, Vt = np.linalg.svd(M, full_matrices=False)
    root = np.sqrt(S[:r])
    B = U[:, :r] * root          # (d, r)
    A = root[:, None] * Vt[:r]   # (r, k)
    return B, A


def best_rank_r(M: np.ndarray, r: int) -> np.ndarray:
    """Best rank-r approximation of ``M`` (d, k) in the Frobenius norm (Eckart-Young): shape (d, k)."""
    B, A = factorize(M, r)
    return B @ A


def approximation_errors(M: np.ndarray, relative: bool = True) -> np.ndarray:
    """Frobenius error of the best rank-r approximation for r = 0 .. min(d, k): shape (min(d, k) + 1,).

    Computed from the singular values alone: err(r)^2 = sum of s_i^2 for i > r.
    With ``relative`` the errors are divided by ``||M||_F``.
    """
    S = singular_values(M)
    relative = check_bool("relative", relative)
    tail = np.sqrt(np.concatenate([np.cumsum((S**2)[::-1])[::-1], [0.0]]))
    if relative:
        total = tail[0]
        return tail / total if total > 0 else tail
    return tail


def approximation_error(M: np.ndarray, r: int, relative: bool = True) -> float:
    """Frobenius error of the best rank-r approximation of ``M`` (relative to ``||M||_F`` by default)."""
    M = as_array("M", M, ndim=2)
    check_rank(r, *M.shape)
    return float(approximation_errors(M, relative=relative)[r])


def params_per_matrix(d: int, k: int, r: int) -> int:
    """Entries of ``B`` (d, r) plus ``A`` (r, k): r (d + k)."""
    d, k = check_positive_int("d", d), check_positive_int("k", k)
    r = check_rank(r, d, k)
    return r * (d + k)


def compression_ratio(d: int, k: int, r: int) -> float:
    """Entries of a dense (d, k) matrix over those of its rank-r factors: dk / (r (d + k))."""
    n = params_per_matrix(d, k, r)
    return d * k / n


def lora_param_count(n_matrices: int, d_model: int, r: int) -> int:
    """|Theta| = 2 * L * d_model * r for L adapted (d_model, d_model) matrices (paper, section 4.2)."""
    n_matrices = check_positive_int("n_matrices", n_matrices)
    d_model = check_positive_int("d_model", d_model)
    check_rank(r, d_model, d_model)
    return n_matrices * params_per_matrix(d_model, d_model, r)
