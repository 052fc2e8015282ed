"""Input checks shared by the package: every error names what was expected and what was received."""

from __future__ import annotations

import numbers

import numpy as np


def as_array(name: str, x, ndim: int | None = None) -> np.ndarray:
    """Return ``x`` as a finite float ndarray, or raise naming the problem."""
    arr = np.asarray(x)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got {arr.ndim}-D with shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name}: expected finite values, got {bad} NaN/inf entries")
    return arr


def check_rng(rng) -> np.random.Generator:
    """``rng`` must be a numpy Generator (the course never seeds globally)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    return rng


def check_shape(name: str, x: np.ndarray, expected: tuple, meaning: str = "") -> None:
    """Raise if ``x.shape`` differs from ``expected`` (``None`` entries match anything)."""
    shape = np.shape(x)
    ok = len(shape) == len(expected) and all(e is None or e == s for e, s in zip(expected, shape, strict=False))
    if not ok:
        want = "(" + ", ".join("?" if e is None else str(e) for e in expected) + ")"
        extra = f" {meaning}" if meaning else ""
        raise ValueError(f"{name}: expected shape {want}{extra}, got {tuple(shape)}")


def check_positive_int(name: str, value, upper: int | None = None) -> int:
    """Return ``value`` as an int in [1, upper], or raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected a positive integer, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value}")
    if upper is not None and value > upper:
        raise ValueError(f"{name}: expected an integer <= {upper}, got {value}")
    return int(value)


def check_rank(r, d: int, k: int) -> int:
    """A LoRA rank must satisfy 1 <= r <= min(d, k)."""
    if isinstance(r, bool) or not isinstance(r, numbers.Integral):
        raise TypeError(f"r: expected an integer rank, got {r!r} ({type(r).__name__})")
    if not 1 <= r <= min(d, k):
        raise ValueError(f"r: expected 1 <= r <= min(d, k) = {min(d, k)} for a ({d}, {k}) weight, got {r}")
    return int(r)


def check_alpha(alpha) -> float:
    """``alpha`` must be a finite number > 0."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha: expected a positive number, got {alpha!r} ({type(alpha).__name__})")
    if not np.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha: expected a finite number > 0, got {alpha}")
    return float(alpha)
