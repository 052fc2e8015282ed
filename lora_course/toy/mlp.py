"""The Transformer's position-wise MLP: Linear -> GELU -> Linear, forward and backward (CS231n style).

Weights follow the paper's convention W: (d_out, d_in), applied to rows as ``X W^T``.
The paper (and this course) leaves the MLP frozen when adapting with LoRA.
"""

from __future__ import annotations

import math

import numpy as np

from lora_course.cache_check import check_cache
from lora_course.validation import as_array, as_real, check_bool, check_gradient, check_shape

_C = math.sqrt(2.0 / math.pi)


def gelu_forward(x: np.ndarray) -> tuple[np.ndarray, tuple]:
    """GELU, tanh approximation: 0.5 x (1 + tanh(c (x + 0.044715 x^3))). Any shape."""
    return _gelu_forward(as_real("x", x))


def _gelu_forward(x: np.ndarray) -> tuple[np.ndarray, tuple]:
    t = np.tanh(_C * (x + 0.044715 * x * x * x))  # x*x*x: much faster than x**3
    return 0.5 * x * (1.0 + t), (x, t)


def gelu_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """dout -> dx, same shape."""
    x, t = check_cache(cache, "aa", "gelu_forward")
    dout = check_gradient("dout", dout, np.shape(x), "= the forward input's shape")
    return _gelu_backward(dout, cache)


def _gelu_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    x, t = cache
    dt = (1.0 - t * t) * _C * (1.0 + 3 * 0.044715 * x * x)
    return dout * (0.5 * (1.0 + t) + 0.5 * x * dt)


def mlp_forward(X: np.ndarray, W1: np.ndarray, b1: np.ndarray, W2: np.ndarray,
                b2: np.ndarray) -> tuple[np.ndarray, tuple]:
    """X (n, D), W1 (F, D), b1 (F,), W2 (D, F), b2 (D,) -> out (n, D)."""
    X = as_array("X", X, ndim=2)
    W1, b1 = as_real("W1", W1, ndim=2), as_real("b1", b1)
    W2, b2 = as_real("W2", W2, ndim=2), as_real("b2", b2)
    F, D = W1.shape
    check_shape("X", X, (None, D), f"= (n, D) with D = W1.shape[1] = {D}")
    check_shape("b1", b1, (F,), f"= (F,) with F = W1.shape[0] = {F}")
    check_shape("W2", W2, (D, F), "= (D, F) to undo W1's (F, D)")
    check_shape("b2", b2, (D,), f"= (D,) with D = W1.shape[1] = {D}")
    return _mlp_forward(X, W1, b1, W2, b2)


def _mlp_forward(X: np.ndarray, W1: np.ndarray, b1: np.ndarray, W2: np.ndarray,
                 b2: np.ndarray) -> tuple[np.ndarray, tuple]:
    """``mlp_forward`` on checked inputs."""
    H = X @ W1.T + b1               # (n, F)
    G, gelu_cache = _gelu_forward(H)
    return G @ W2.T + b2, (X, W1, W2, G, gelu_cache)


def mlp_backward(dout: np.ndarray, cache: tuple,
                 weight_grads: bool = True) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """dout (n, D) -> dX (n, D) and {"W1", "b1", "W2", "b2"} gradients (empty if not ``weight_grads``)."""
    X, W1, W2, G, gelu_cache = check_cache(cache, "aaaat", "mlp_forward")
    dout = check_gradient("dout", dout, (X.shape[0], W2.shape[0]), "= (n, D) like the forward output")
    return _mlp_backward(dout, cache, check_bool("weight_grads", weight_grads))


def _mlp_backward(dout: np.ndarray, cache: tuple, weight_grads: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``mlp_backward`` on a checked dout and cache."""
    X, W1, W2, G, gelu_cache = cache
    dH = _gelu_backward(dout @ W2, gelu_cache)   # (n, F)
    grads = {}
    if weight_grads:
        grads = {"W2": dout.T @ G, "b2": dout.sum(axis=0), "W1": dH.T @ X, "b1": dH.sum(axis=0)}
    return dH @ W1, grads
