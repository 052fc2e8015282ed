"""Multi-head self-attention with separate Wq, Wk, Wv, Wo, each optionally adapted by LoRA.

Every projection weight is (d_model, d_model) in the paper's (d, k) convention and is applied to
rows as ``X W^T``. An adapted projection adds the LoRA branch from ``lora_course.layer``:
``X W^T + scale * X A^T B^T``. Forward functions return (out, cache); backward functions return
gradients (CS231n style).
"""

from __future__ import annotations

import numpy as np

from lora_course.cache_check import check_cache
from lora_course.layer import _check_branch, _lora_backward, _lora_forward
from lora_course.validation import (
    InputError,
    InputTypeError,
    as_array,
    as_real,
    check_adapter,
    check_bool,
    check_gradient,
    check_int,
    check_mapping,
    check_positive_int,
    check_shape,
)

TARGETS = ("q", "k", "v", "o")


def projection_forward(X: np.ndarray, W: np.ndarray,
                       lora: tuple[np.ndarray, np.ndarray, float] | None = None) -> tuple[np.ndarray, tuple]:
    """X (n, k), W (d, k), lora = (A (r, k), B (d, r), scale) or None -> out (n, d)."""
    X = as_array("X", X, ndim=2)
    W = as_array("W", W, ndim=2)
    check_shape("W", W, (None, X.shape[1]), f"= (d, k) with k = X.shape[1] = {X.shape[1]}")
    if lora is not None:
        A, B, _ = check_adapter("lora", lora)
        check_shape("lora.B", B, (W.shape[0], None), f"= (d, r) with d = W.shape[0] = {W.shape[0]}")
        _check_branch(X, *lora)
    return _projection_forward(X, W, lora)


def _projection_forward(X: np.ndarray, W: np.ndarray, lora: tuple | None,
                        frozen: np.ndarray | None = None) -> tuple[np.ndarray, tuple]:
    """``projection_forward`` on checked inputs; ``frozen``, when given, is X W^T computed beforehand."""
    out = X @ W.T if frozen is None else frozen
    branch = None
    if lora is not None:
        delta, branch = _lora_forward(X, *lora)
        out = out + delta
    return out, (X, W, branch)


def projection_backward(dout: np.ndarray, cache: tuple,
                        weight_grads: bool = True) -> tuple[np.ndarray, np.ndarray | None, tuple | None]:
    """dout (n, d) -> dX (n, k), dW (d, k) (None if not ``weight_grads``: W frozen), and (dA, dB) when the
    projection has a LoRA branch, else None."""
    X, W, branch = check_cache(cache, "aa?", "projection_forward")
    dout = check_gradient("dout", dout, (X.shape[0], W.shape[0]), "= (n, d) like the forward output")
    return _projection_backward(dout, cache, check_bool("weight_grads", weight_grads))


def _projection_backward(dout: np.ndarray, cache: tuple, weight_grads: bool, input_grad: bool = True) -> tuple:
    """``projection_backward`` on a checked dout and cache; dX is None when not ``input_grad``."""
    X, W, branch = cache
    dX = dout @ W if input_grad else None
    dW = dout.T @ X if weight_grads else None
    lora_grads = None
    if branch is not None:
        dX_branch, dA, dB = _lora_backward(dout, branch)
        dX = dX + dX_branch if input_grad else None
        lora_grads = (dA, dB)
    return dX, dW, lora_grads


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``."""
    x = as_array("x", x)
    check_int("axis", axis, -max(x.ndim, 1), max(x.ndim, 1) - 1)
    if x.size == 0:
        return x.astype(float)
    return _softmax(x, axis)


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - np.maximum.reduce(x, axis=axis, keepdims=True))
    return e / np.add.reduce(e, axis=axis, keepdims=True)


def attention_forward(X: np.ndarray, weights: dict[str, np.ndarray], n_heads: int,
                      loras: dict[str, tuple] | None = None) -> tuple[np.ndarray, tuple]:
    """Bidirectional multi-head self-attention.

    X: (N, T, D); weights: {"q", "k", "v", "o"} -> (D, D); loras: target -> (A (r, D), B (D, r), scale)
    for the adapted targets (any subset of q, k, v, o). Returns out (N, T, D) and a cache.
    """
    X = as_array("X", X, ndim=3)
    N, T, D = X.shape
    H = check_positive_int("n_heads", n_heads)
    if D % H:
        raise InputError(f"n_heads: expected a divisor of d_model = {D}, got {H}")
    check_mapping("weights", weights, TARGETS)
    if loras is not None:
        check_mapping("loras", loras)
    loras = loras or {}
    unknown = set(loras) - set(TARGETS)
    if unknown:
        raise InputError(f"loras: expected targets among {TARGETS}, got {sorted(unknown)}")
    for t in TARGETS:
        as_real(f"weights[{t!r}]", weights[t], ndim=2)
        check_shape(f"weights[{t!r}]", weights[t], (D, D), f"= (d_model, d_model) with d_model = {D}")
    for t, lora in loras.items():   # entries and scale are checked as lora_forward checks them
        if not isinstance(lora, tuple) or len(lora) != 3:
            raise InputTypeError(f"loras[{t!r}]: expected an Adapter (A, B, scale), got {type(lora).__name__}")
        check_shape(f"loras[{t!r}].B", lora[1], (D, None), f"= (d_model, r) with d_model = {D}")
        _check_branch(X.reshape(N * T, D), *lora)
    return _attention_forward(X, weights, H, loras)


def _attention_forward(X: np.ndarray, weights: dict[str, np.ndarray], H: int, loras: dict[str, tuple],
                       last_only: bool = False,
                       frozen: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, tuple]:
    """``attention_forward`` on checked inputs. ``last_only``: only the last position's output is computed, so
    out is (N, 1, D); a model that reads the last position alone needs nothing else from its top block.
    (Every query still goes through the batched products: a one-row product would round differently.)
    ``frozen``: X Wq^T, X Wk^T and X Wv^T (N*T, D) computed beforehand (from a table of a frozen bottom block)."""
    N, T, D = X.shape
    dh = D // H
    X2 = X.reshape(N * T, D)
    caches = {}
    heads = {}
    for t in ("q", "k", "v"):
        out, caches[t] = _projection_forward(X2, weights[t], loras.get(t), frozen and frozen[t])
        heads[t] = out.reshape(N, T, H, dh).transpose(0, 2, 1, 3)     # (N, H, T, dh)
    scores = heads["q"] @ heads["k"].transpose(0, 1, 3, 2) / np.sqrt(dh)  # (N, H, T, T)
    P = _softmax(scores, -1)
    ctx = (P @ heads["v"]).transpose(0, 2, 1, 3)                         # (N, T, H, dh)
    Tout = 1 if last_only else T                                         # output positions computed
    ctx = ctx[:, T - Tout:].reshape(N * Tout, D)                         # (N*Tout, D)
    out, caches["o"] = _projection_forward(ctx, weights["o"], loras.get("o"))
    return out.reshape(N, Tout, D), (caches, heads, P, (N, T, D, H, dh))


def attention_backward(dout: np.ndarray, cache: tuple,
                       weight_grads: bool = True) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """dout (N, T, D) -> dX (N, T, D) and gradients {"Wq", .., "Wo"} (skipped if not ``weight_grads``)
    plus {"q.A", "q.B", ..} for the adapted targets."""
    caches, heads, P, (N, T, D, H, dh) = check_cache(cache, "ddas", "attention_forward")
    dout = check_gradient("dout", dout, (N, T, D), "= (N, T, D) like the forward output")
    return _attention_backward(dout, cache, check_bool("weight_grads", weight_grads))


def _attention_backward(dout: np.ndarray, cache: tuple, weight_grads: bool,
                        input_grad: bool = True) -> tuple[np.ndarray | None, dict]:
    """``attention_backward`` on a checked dout (N, Tout, D); Tout = 1 after a ``last_only`` forward.

    Without ``weight_grads`` and ``input_grad`` (a frozen bottom block) only the adapted projections get a
    backward pass, and dX is None."""
    caches, heads, P, (N, T, D, H, dh) = cache
    Tout = dout.shape[1]
    grads: dict[str, np.ndarray] = {}

    def collect(t: str, dW: np.ndarray | None, lora_grads: tuple | None) -> None:
        if dW is not None:
            grads[f"W{t}"] = dW
        if lora_grads is not None:
            grads[f"{t}.A"], grads[f"{t}.B"] = lora_grads

    need = [t for t in ("q", "k", "v") if weight_grads or input_grad or caches[t][2] is not None]
    dctx, dW, lg = _projection_backward(dout.reshape(N * Tout, D), caches["o"], weight_grads, bool(need))
    collect("o", dW, lg)
    if not need:
        return None, grads
    if Tout < T:                                                           # positions without output: zero
        dctx = np.concatenate([np.zeros((N, T - Tout, D)), dctx.reshape(N, Tout, D)], axis=1)
    dctx = dctx.reshape(N, T, H, dh).transpose(0, 2, 1, 3)                # (N, H, T, dh)
    dheads = {"v": P.transpose(0, 1, 3, 2) @ dctx}
    if "q" in need or "k" in need:
        dP = dctx @ heads["v"].transpose(0, 1, 3, 2)                       # (N, H, T, T)
        dscores = P * (dP - (dP * P).sum(axis=-1, keepdims=True)) / np.sqrt(dh)
        dheads["q"] = dscores @ heads["k"]
        dheads["k"] = dscores.transpose(0, 1, 3, 2) @ heads["q"]
    dX = np.zeros((N * T, D)) if input_grad else None
    for t in need:
        d2 = dheads[t].transpose(0, 2, 1, 3).reshape(N * T, D)
        dXt, dW, lg = _projection_backward(d2, caches[t], weight_grads, input_grad)
        if dX is not None:
            dX += dXt
        collect(t, dW, lg)
    return (None if dX is None else dX.reshape(N, T, D)), grads
