"""DoRA (Liu et al., 2024, arXiv:2402.09353): a magnitude vector times a unit-norm direction.

The paper writes (Section 4.1, Eq. 5)  W' = m (W0 + B A) / ||W0 + B A||_c  with one magnitude per output
feature. The paper's W is (input, output), so its column norm runs over each output feature's weights. In this
course W0 is (d, k) with h = W0 x, so one output feature is one ROW: the norm is taken along axis 1 and
m has shape (d,). (PEFT does the same: ``torch.linalg.norm(weight, dim=1)`` on its (out, in) weight.)

    W0: (d, k) frozen   A: (r, k)   B: (d, r)   m: (d,) trainable, initialised to the row norms of W0
    V  = W0 + scale B A                     (d, k)   the direction before normalising
    W' = (m / ||V||_row)[:, None] * V       (d, k)   the merged weight; at B = 0 it equals W0 exactly
    H  = X W'^T                             (n, d)

Section 4.3 of the paper treats ||V||_row as a constant in the backward pass (no gradient flows through the
norm), which saves memory; ``dora_backward`` does that by default (``detach_norm=True``, as PEFT does) and
can also return the exact gradient.
"""

from __future__ import annotations

import numpy as np

from lora_course.validation import (
    InputError,
    InputTypeError,
    as_array,
    check_bool,
    check_gradient,
    check_scale,
    check_shape,
)


def _row_norms(V: np.ndarray, what: str) -> np.ndarray:
    norms = np.linalg.norm(V, axis=1)                           # (d,): one per output feature
    if np.any(norms == 0):
        raise InputError(f"{what}: expected every row (output feature) to have a non-zero norm, got "
                         f"{int(np.sum(norms == 0))} zero rows")
    return norms


def dora_magnitude(W0: np.ndarray) -> np.ndarray:
    """The initial magnitude vector m = ||W0||_row: W0 (d, k) -> m (d,), one norm per output feature."""
    W0 = as_array("W0", W0, ndim=2, allow_empty=False)
    return _row_norms(W0, "W0")


def _checked(W0, A, B, m, scale) -> tuple[np.ndarray, ...]:
    W0 = as_array("W0", W0, ndim=2, allow_empty=False)
    d, k = W0.shape
    A = as_array("A", A, ndim=2, allow_empty=False)
    check_shape("A", A, (None, k), f"= (r, k) with k = W0.shape[1] = {k}")
    B = as_array("B", B, ndim=2)
    check_shape("B", B, (d, A.shape[0]), f"= (d, r) with d = W0.shape[0] = {d}, r = A.shape[0] = {A.shape[0]}")
    m = as_array("m", m, ndim=1)
    check_shape("m", m, (d,), f"= (d,) with d = W0.shape[0] = {d}")
    return W0, A, B, m, check_scale(scale)


def dora_weight(W0: np.ndarray, A: np.ndarray, B: np.ndarray, m: np.ndarray, scale: float) -> np.ndarray:
    """The merged DoRA weight W' = m * (W0 + scale B A) / ||W0 + scale B A||_row, shape (d, k)."""
    W0, A, B, m, scale = _checked(W0, A, B, m, scale)
    V = W0 + scale * (B @ A)                                    # (d, k)
    return (m / _row_norms(V, "W0 + scale B A"))[:, None] * V


def dora_forward(X: np.ndarray, W0: np.ndarray, A: np.ndarray, B: np.ndarray, m: np.ndarray,
                 scale: float) -> tuple[np.ndarray, tuple]:
    """H = X W'^T for X (n, k) -> H (n, d), and the cache for ``dora_backward``."""
    W0, A, B, m, scale = _checked(W0, A, B, m, scale)
    X = as_array("X", X, ndim=2)
    check_shape("X", X, (None, W0.shape[1]), f"= (n, k) with k = W0.shape[1] = {W0.shape[1]}")
    V = W0 + scale * (B @ A)                                    # (d, k)
    norms = _row_norms(V, "W0 + scale B A")                     # (d,)
    W = (m / norms)[:, None] * V                                # (d, k)
    return X @ W.T, (X, W0, A, B, m, scale, V, norms, W)


def dora_backward(dH: np.ndarray, cache: tuple, detach_norm: bool = True
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """dH (n, d) -> (dX (n, k), dA (r, k), dB (d, r), dm (d,)).

    ``detach_norm=True``: ||V||_row is a constant (paper Section 4.3, PEFT); False: the exact gradient.
    """
    if not isinstance(cache, tuple) or len(cache) != 9:
        raise InputTypeError(f"cache: expected the cache tuple returned by dora_forward (9 items), "
                             f"got {type(cache).__name__}")
    if not all(isinstance(x, np.ndarray) for i, x in enumerate(cache) if i != 5):
        raise InputTypeError(f"cache: expected the cache tuple returned by dora_forward (arrays and the scale), got "
                             f"items of types {[type(x).__name__ for x in cache]}")
    X, W0, A, B, m, scale, V, norms, W = cache
    detach_norm = check_bool("detach_norm", detach_norm)
    dH = check_gradient("dH", dH, (X.shape[0], W0.shape[0]), "= (n, d) like the forward output")
    dW = dH.T @ X                                               # (d, k): gradient of the merged weight
    dX = dH @ W                                                 # (n, k)
    dm = np.sum(dW * V, axis=1) / norms                         # (d,)
    dV = (m / norms)[:, None] * dW                              # (d, k) with the norm held constant
    if not detach_norm:                                         # minus the part along each row of V
        dV = dV - (m * np.sum(dW * V, axis=1) / norms**3)[:, None] * V
    return dX, scale * B.T @ dV, scale * dV @ A.T, dm
