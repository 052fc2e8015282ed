"""Merging a LoRA update into a weight, removing it, and switching between adapters.

All weights are (d, k); an adapter is ``(A (r, k), B (d, r), scale)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lora_course.validation import as_array, as_float_array, check_adapter, check_scale, check_shape


class Adapter(NamedTuple):
    """A trained LoRA pair with its scale: A (r, k), B (d, r)."""

    A: np.ndarray
    B: np.ndarray
    scale: float

    @property
    def n_params(self) -> int:
        return self.A.size + self.B.size


def merged_delta(A: np.ndarray, B: np.ndarray, scale: float) -> np.ndarray:
    """Delta W = scale * B A: (d, r) @ (r, k) -> (d, k)."""
    A, B = as_array("A", A, ndim=2), as_array("B", B, ndim=2)
    check_shape("B", B, (None, A.shape[0]), f"= (d, r) with r = A.shape[0] = {A.shape[0]}")
    check_scale(scale)
    return scale * (B @ A)


def _delta_for(W: np.ndarray, adapter: Adapter, name: str) -> np.ndarray:
    check_adapter(name, adapter)
    delta = merged_delta(*adapter)
    check_shape(name, delta, W.shape, f"for scale * B A = the weight's shape {W.shape}")
    return delta


def merge(W0: np.ndarray, adapter: Adapter) -> np.ndarray:
    """W = W0 + scale * B A, a new (d, k) array; W0 is left untouched."""
    W0 = as_array("W0", W0, ndim=2)
    return W0 + _delta_for(W0, adapter, "adapter")


def unmerge(W: np.ndarray, adapter: Adapter) -> np.ndarray:
    """W0 = W - scale * B A (exact up to rounding)."""
    W = as_array("W", W, ndim=2)
    return W - _delta_for(W, adapter, "adapter")


def switch(W: np.ndarray, old: Adapter, new: Adapter) -> np.ndarray:
    """W' = W + scale_new B_new A_new - scale_old B_old A_old, the paper's one-step switch.

    Cheap, but each call adds rounding error; repeated switching in float32 drifts
    away from W0 + Delta W. ``MergedWeight`` avoids that. An integer W is promoted to float64, like ``merge``.
    """
    W = as_float_array("W", W, ndim=2)
    return W + (_delta_for(W, new, "new") - _delta_for(W, old, "old")).astype(W.dtype)


class MergedWeight:
    """A served weight that switches adapters without drift.

    Keeps the frozen ``W0`` and rebuilds ``W = W0 + Delta W`` from it on every switch,
    so the error after any number of switches is that of a single merge.
    """

    def __init__(self, W0: np.ndarray) -> None:
        self.W0 = as_float_array("W0", W0, ndim=2).copy()
        self.W0.setflags(write=False)
        self.W = self.W0.copy()
        self.active: Adapter | None = None

    def switch_to(self, adapter: Adapter | None) -> np.ndarray:
        """Serve ``adapter`` (or the frozen model for ``None``); returns W (d, k), updated in place."""
        np.copyto(self.W, self.W0)
        if adapter is not None:
            self.W += _delta_for(self.W0, adapter, "adapter").astype(self.W.dtype)
        self.active = adapter
        return self.W
