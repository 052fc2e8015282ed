"""Numerical gradients by central differences and the relative error used to compare them (CS231n style)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lora_course.validation import InputError, as_array, check_callable, check_number, check_shape


def _check_probe(f, x, h) -> None:
    check_callable("f", f, ())            # f() takes no arguments: it reads x
    if not isinstance(x, np.ndarray):
        raise InputError(f"x: expected the numpy array that f reads (it is perturbed in place), got {type(x).__name__}")
    if x.dtype != np.float64:
        raise InputError(f"x: expected a float64 array (an in-place nudge of h is truncated in integers and "
                         f"rounded in float32), got dtype {x.dtype}; pass x.astype(np.float64) and let f read that")
    if not x.flags.writeable:
        raise InputError("x: expected a writeable array (it is perturbed in place), got a read-only one")
    as_array("x", x)
    check_number("h", h, minimum=0, maximum=1.0, what="a small step")


def _value(y) -> float:
    y = np.asarray(y)
    if y.ndim != 0 or y.dtype.kind not in "iuf" or not np.isfinite(y):
        raise InputError(f"f: expected f() to return one finite number, got {y!r}")
    return float(y)


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Gradient of the scalar ``f()`` with respect to ``x``, same shape as ``x``.

    ``f`` takes no arguments and reads ``x``, which is perturbed in place and restored, so ``x`` must be a
    writeable float64 array: an integer array would truncate the nudge and float32 rounds it (about 1e-3 off).
    """
    _check_probe(f, x, h)
    grad = np.zeros_like(x, dtype=float)
    if x.size == 0:
        return grad
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = _value(f())
        x[i] = old - h
        minus = _value(f())
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
        it.iternext()
    return grad


def numerical_gradient_array(f: Callable[[], np.ndarray], x: np.ndarray, dout: np.ndarray,
                             h: float = 1e-5) -> np.ndarray:
    """Gradient of ``sum(f() * dout)`` with respect to ``x``: the backward pass of an array-valued ``f``."""
    _check_probe(f, x, h)
    dout = as_array("dout", dout)
    check_shape("dout", dout, as_array("f()", f()).shape, "= the shape of f()'s output")
    return numerical_gradient(lambda: float(np.sum(f() * dout)), x, h)


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max(1e-8, |a| + |b|), elementwise; below 1e-7 means agreement in float64."""
    a, b = as_array("a", a).astype(float), as_array("b", b).astype(float)
    if a.shape != b.shape:
        raise InputError(f"b: expected the shape of a, got shapes {a.shape} and {b.shape} for a and b")
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))) if a.size else 0.0
