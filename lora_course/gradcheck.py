"""Numerical gradients by central differences and the relative error used to compare them (CS231n style)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Gradient of the scalar ``f()`` with respect to ``x``, same shape as ``x``.

    ``f`` takes no arguments and reads ``x``, which is perturbed in place and restored.
    """
    grad = np.zeros_like(x, dtype=float)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = f()
        x[i] = old - h
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
        it.iternext()
    return grad


def numerical_gradient_array(f: Callable[[], np.ndarray], x: np.ndarray, dout: np.ndarray,
                             h: float = 1e-5) -> np.ndarray:
    """Gradient of ``sum(f() * dout)`` with respect to ``x``: the backward pass of an array-valued ``f``."""
    return numerical_gradient(lambda: float(np.sum(f() * dout)), x, h)


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max(1e-8, |a| + |b|), elementwise; below 1e-7 means agreement in float64."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: expected arrays of one shape, got {a.shape} and {b.shape}")
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))) if a.size else 0.0
