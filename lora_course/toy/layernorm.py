"""Layer normalization over the last axis, forward and backward (CS231n style)."""

from __future__ import annotations

import numpy as np

from lora_course.cache_check import check_cache
from lora_course.validation import InputError, as_array, as_real, check_gradient, check_number, check_shape


def layernorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                      eps: float = 1e-5) -> tuple[np.ndarray, tuple]:
    """Normalize each row of ``x`` (..., D) to mean 0, variance 1, then scale by gamma (D,) and shift by beta (D,).

    Returns out (..., D) and a cache for ``layernorm_backward``.
    """
    x = as_array("x", x)
    if x.ndim == 0 or x.shape[-1] == 0:
        raise InputError(f"x: expected an array (..., D) with D >= 1 features, got shape {x.shape}")
    D = x.shape[-1]
    gamma, beta = as_real("gamma", gamma), as_real("beta", beta)
    check_shape("gamma", gamma, (D,), f"= (D,) with D = x.shape[-1] = {D}")
    check_shape("beta", beta, (D,), f"= (D,) with D = x.shape[-1] = {D}")
    check_number("eps", eps, minimum=0)
    return _layernorm_forward(x, gamma, beta, eps)


def _layernorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                       eps: float = 1e-5) -> tuple[np.ndarray, tuple]:
    """``layernorm_forward`` on checked inputs (a row mean is the row sum / D, as ``ndarray.mean`` computes it)."""
    D = x.shape[-1]
    mu = np.add.reduce(x, axis=-1, keepdims=True) / D
    xc = x - mu
    inv_std = 1.0 / np.sqrt(np.add.reduce(xc * xc, axis=-1, keepdims=True) / D + eps)
    xhat = xc * inv_std                 # (..., D)
    return xhat * gamma + beta, (xhat, inv_std, gamma)


def layernorm_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout (..., D) -> (dx (..., D), dgamma (D,), dbeta (D,))."""
    xhat, inv_std, gamma = check_cache(cache, "aaa", "layernorm_forward")
    dout = check_gradient("dout", dout, xhat.shape, "= the forward output's shape")
    return _layernorm_backward(dout, cache)


def _layernorm_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``layernorm_backward`` on a checked dout and cache."""
    xhat, inv_std, gamma = cache
    D = xhat.shape[-1]
    axes = tuple(range(dout.ndim - 1))
    dgamma = (dout * xhat).sum(axis=axes)
    dbeta = dout.sum(axis=axes)
    dxhat = dout * gamma
    # d/dx of (x - mean) / std, written with the row means of dxhat and dxhat * xhat
    dx = inv_std * (dxhat - np.add.reduce(dxhat, axis=-1, keepdims=True) / D
                    - xhat * np.add.reduce(dxhat * xhat, axis=-1, keepdims=True) / D)
    return dx, dgamma, dbeta
