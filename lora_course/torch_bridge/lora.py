"""A LoRA linear layer written by hand in PyTorch, and the check of a student's one.

``LoRALinear(base, r, alpha)`` wraps a frozen ``nn.Linear`` (weight W0 (d, k)) and adds
``scale * X A^T B^T`` with ``A`` (r, k) and ``B`` (d, r) trainable, ``scale = alpha / r``
(or ``alpha / sqrt(r)`` with ``rslora=True``): the same function as ``lora_course.layer.linear_lora_forward``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from lora_course.layer import linear_lora_backward, linear_lora_forward, scale_factor
from lora_course.merge import Adapter, merge


class LoRALinear(nn.Module):
    """Frozen ``base`` (d, k) plus a trainable low-rank branch; ``merge()`` folds it in and returns an nn.Linear."""

    def __init__(self, base: nn.Linear, r: int, alpha: float | None = None, rslora: bool = False) -> None:
        super().__init__()
        d, k = base.weight.shape
        self.base = base
        self.base.weight.requires_grad_(False)
        if base.bias is not None:
            base.bias.requires_grad_(False)
        self.r = r
        self.scale = scale_factor(r, alpha, rslora=rslora)
        factory = {"dtype": base.weight.dtype, "device": base.weight.device}
        self.A = nn.Parameter(torch.randn(r, k, **factory) * 0.01)   # (r, k)
        self.B = nn.Parameter(torch.zeros(d, r, **factory))          # (d, r)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., k) -> (..., d)."""
        return self.base(x) + self.scale * (x @ self.A.T) @ self.B.T

    @torch.no_grad()
    def merge(self) -> nn.Linear:
        """A new ``nn.Linear`` with W = W0 + scale B A (this layer is left untouched)."""
        d, k = self.base.weight.shape
        out = nn.Linear(k, d, bias=self.base.bias is not None, dtype=self.base.weight.dtype,
                        device=self.base.weight.device)
        out.weight.copy_(self.base.weight + self.scale * self.B @ self.A)
        if self.base.bias is not None:
            out.bias.copy_(self.base.bias)
        return out


def _max_errors(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float]:
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    abs_err = float(np.max(np.abs(ours - theirs)))
    rel_err = abs_err / max(float(np.max(np.abs(ours))), np.finfo(np.float64).tiny)
    return abs_err, rel_err


def check_lora_linear(cls: type, tol: float = 1e-10, seed: int = 0) -> list[str]:
    """Check a student's torch LoRA layer ``cls(base, r, alpha)`` with attributes ``A`` (r, k), ``B`` (d, r)
    against ``lora_course.layer`` in float64: forward, dA, dB and ``merge()``'s weight. Prints one line a check
    and returns the problems (empty when every check passes)."""
    rng = np.random.default_rng(seed)
    d, k, r, n, alpha = 6, 5, 2, 4, 3.0
    W0, X, G = rng.normal(size=(d, k)), rng.normal(size=(n, k)), rng.normal(size=(n, d))
    A, B = rng.normal(size=(r, k)), rng.normal(size=(d, r))
    scale = scale_factor(r, alpha)
    H, cache = linear_lora_forward(X, W0, A, B, scale)
    _, dA, dB = linear_lora_backward(G, cache)
    problems: list[str] = []

    def report(name: str, ok: bool, detail: str = "") -> None:
        print(f"{'✅' if ok else '❌'} {name}" + ("" if ok else f": {detail}"))
        if not ok:
            problems.append(f"{name}: {detail}")

    base = nn.Linear(k, d, bias=False, dtype=torch.float64)
    with torch.no_grad():
        base.weight.copy_(torch.from_numpy(W0))
    try:
        layer = cls(base, r, alpha)
    except Exception as err:  # noqa: BLE001 - a student's constructor may fail in any way; say how
        report("construct LoRALinear(base, r=2, alpha=3.0)", False, f"{type(err).__name__}: {err}")
        return problems
    for attr, shape in (("A", (r, k)), ("B", (d, r))):
        got = getattr(layer, attr, None)
        ok = isinstance(got, torch.Tensor) and tuple(got.shape) == shape
        report(f"{attr} is a tensor of shape {shape}", ok, f"got {getattr(got, 'shape', got)!r}")
        if not ok:
            return problems
    with torch.no_grad():
        layer.A.copy_(torch.from_numpy(A))
        layer.B.copy_(torch.from_numpy(B))
    report("W0 is frozen (no gradient)", not base.weight.requires_grad, "base.weight.requires_grad is True")
    report("A and B are trainable", bool(layer.A.requires_grad and layer.B.requires_grad),
           "A and B need requires_grad=True (nn.Parameter)")
    try:
        out = layer(torch.from_numpy(X))
    except Exception as err:  # noqa: BLE001 - report any failure of the student's forward
        report("forward runs", False, f"{type(err).__name__}: {err}")
        return problems
    err = _max_errors(H, out.detach().numpy())[1] if tuple(out.shape) == H.shape else math.inf
    report(f"forward equals X W0^T + (alpha/r) X A^T B^T (rel. err. < {tol:g})", err < tol,
           f"shape {tuple(out.shape)}, expected {H.shape}" if err == math.inf else "outputs differ: check the scale")
    if layer.A.requires_grad and err < tol:
        (out * torch.from_numpy(G)).sum().backward()
        for name, ours, theirs in (("dA", dA, layer.A.grad), ("dB", dB, layer.B.grad)):
            ok = theirs is not None and _max_errors(ours, theirs.numpy())[1] < tol
            report(f"autograd's {name} equals lesson 02's backward", ok, "gradients differ")
    try:
        merged = layer.merge()
    except Exception as err:  # noqa: BLE001
        report("merge() runs", False, f"{type(err).__name__}: {err}")
        return problems
    W = merge(W0, Adapter(A, B, scale))
    got = getattr(merged, "weight", merged)
    ok = isinstance(got, torch.Tensor) and tuple(got.shape) == W.shape and _max_errors(W, got.detach().numpy())[1] < tol
    report("merge() gives W0 + (alpha/r) B A", ok, "merged weight differs")
    return problems
