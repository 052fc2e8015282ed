"""The LoRA layer: a frozen weight W0 plus a trainable low-rank branch scale * B A.

Conventions (paper names, code takes a batch of row vectors):

    W0: (d, k) frozen      A: (r, k) Gaussian init      B: (d, r) zeros
    paper:  h = W0 x + scale * B A x           (x a column vector of length k)
    code:   H = X W0^T + scale * X A^T B^T     (X a batch of rows, shape (n, k))
    scale = alpha / r  (alpha defaults to r), or alpha / sqrt(r) for rsLoRA.
"""

from __future__ import annotations

import math

import numpy as np

from lora_course.cache_check import check_cache
from lora_course.validation import (
    InputError,
    as_array,
    as_float_array,
    check_alpha,
    check_bool,
    check_gradient,
    check_number,
    check_positive_int,
    check_rank,
    check_rng,
    check_scale,
    check_shape,
    check_size,
)


def scale_factor(r: int, alpha: float | None = None, rslora: bool = False) -> float:
    """alpha / r (LoRA) or alpha / sqrt(r) (rsLoRA); alpha defaults to r."""
    r = check_positive_int("r", r)
    alpha = float(r) if alpha is None else check_alpha(alpha)
    rslora = check_bool("rslora", rslora)
    return alpha / math.sqrt(r) if rslora else alpha / r


def init_lora(d: int, k: int, r: int, rng: np.random.Generator,
              std: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """Return ``A`` (r, k) drawn from N(0, std^2) and ``B`` (d, r) zeros, so that B A = 0 at step 0."""
    check_rng(rng)
    d, k = check_positive_int("d", d), check_positive_int("k", k)
    r = check_rank(r, d, k)
    check_size({"r": r, "k": k}, "A (r, k)")
    check_size({"d": d, "r": r}, "B (d, r)")
    std = check_number("std", std, minimum=0)
    return rng.normal(0.0, std, size=(r, k)), np.zeros((d, r))


def _unpack(cache, n: int, forward: str) -> tuple:
    """A cache must be the tuple that ``forward`` returned (n items)."""
    return check_cache(cache, "aaaan" if n == 5 else "at", forward)


def _check_factors(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    A = as_array("A", A, ndim=2)
    B = as_array("B", B, ndim=2)
    r, k = A.shape
    check_shape("B", B, (None, r), f"= (d, r) with r = A.shape[0] = {r}")
    check_rank(r, B.shape[0], k)
    return A, B


def lora_forward(X: np.ndarray, A: np.ndarray, B: np.ndarray, scale: float) -> tuple[np.ndarray, tuple]:
    """Low-rank branch on a batch: ``delta = scale * X A^T B^T``.

    X: (n, k), A: (r, k), B: (d, r) -> delta: (n, d). ``cache`` = (X, Z, A, B, scale) with Z = X A^T (n, r).
    """
    return _lora_forward(*_check_branch(X, A, B, scale))


def _check_branch(X, A, B, scale) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The inputs of ``lora_forward``, checked: X (n, k), A (r, k), B (d, r), scale."""
    A, B = _check_factors(A, B)
    check_scale(scale)
    X = as_array("X", X, ndim=2)
    check_shape("X", X, (None, A.shape[1]), f"= (n, k) with k = A.shape[1] = {A.shape[1]}")
    return X, A, B, scale


def _lora_forward(X: np.ndarray, A: np.ndarray, B: np.ndarray, scale: float) -> tuple[np.ndarray, tuple]:
    """``lora_forward`` on checked inputs (the toy Transformer's training loop checks once per call of its own)."""
    Z = X @ A.T                 # (n, r): project down
    delta = scale * (Z @ B.T)   # (n, d): project up
    return delta, (X, Z, A, B, scale)


def lora_backward(ddelta: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of the branch: ddelta (n, d) -> (dX (n, k), dA (r, k), dB (d, r))."""
    X, Z, A, B, scale = _unpack(cache, 5, "lora_forward")
    ddelta = check_gradient("ddelta", ddelta, (X.shape[0], B.shape[0]), "= (n, d) like the forward output")
    return _lora_backward(ddelta, cache)


def _lora_backward(ddelta: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``lora_backward`` on a checked ddelta and cache."""
    X, Z, A, B, scale = cache
    dB = scale * ddelta.T @ Z    # (d, r)
    dZ = scale * ddelta @ B      # (n, r)
    dA = dZ.T @ X                # (r, k)
    dX = dZ @ A                  # (n, k)
    return dX, dA, dB


def linear_lora_forward(X: np.ndarray, W0: np.ndarray, A: np.ndarray, B: np.ndarray,
                        scale: float) -> tuple[np.ndarray, tuple]:
    """Frozen path plus branch: ``H = X W0^T + scale X A^T B^T``. X: (n, k), W0: (d, k) -> H: (n, d)."""
    W0 = as_float_array("W0", W0, ndim=2)      # an integer W0 times an integer X would wrap around silently
    A, B = _check_factors(A, B)
    check_shape("A", A, (None, W0.shape[1]), f"= (r, k) with k = W0.shape[1] = {W0.shape[1]}")
    check_shape("B", B, (W0.shape[0], None), f"= (d, r) with d = W0.shape[0] = {W0.shape[0]}")
    X, A, B, scale = _check_branch(X, A, B, scale)
    return _linear_lora_forward(X, W0, A, B, scale)


def _linear_lora_forward(X: np.ndarray, W0: np.ndarray, A: np.ndarray, B: np.ndarray,
                         scale: float) -> tuple[np.ndarray, tuple]:
    """``linear_lora_forward`` on checked inputs (the toy regression's training steps after the first)."""
    delta, branch = _lora_forward(X, A, B, scale)
    return X @ W0.T + delta, (W0, branch)


def linear_lora_backward(dH: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dH (n, d) -> (dX (n, k), dA (r, k), dB (d, r)); W0 is frozen and gets no gradient."""
    W0, branch = _unpack(cache, 2, "linear_lora_forward")
    _unpack(branch, 5, "linear_lora_forward")
    dH = check_gradient("dH", dH, (branch[0].shape[0], W0.shape[0]), "= (n, d) like the forward output")
    dX_branch, dA, dB = lora_backward(dH, branch)
    return dH @ W0 + dX_branch, dA, dB


class LoRA:
    """Trainable factors of one adapted weight, with the paper's init and scaling.

    ``LoRA(d_in=k, d_out=d, r)``: A is (r, k) Gaussian with std ``init_scale``, B is (d, r) zeros.
    ``forward`` returns the branch ``delta`` (n, d) for an input batch (n, k) and a cache;
    ``backward`` stores dA and dB and returns dX; ``update`` takes an SGD step.
    """

    def __init__(self, d_in: int, d_out: int, r: int, alpha: float | None = None,
                 init_scale: float = 0.01, rng: np.random.Generator | None = None,
                 rslora: bool = False) -> None:
        check_rng(rng)
        self.r = check_rank(r, check_positive_int("d_out", d_out), check_positive_int("d_in", d_in))
        self.alpha = float(r) if alpha is None else check_alpha(alpha)
        check_number("init_scale", init_scale, minimum=0)
        self.scale = scale_factor(r, self.alpha, rslora=check_bool("rslora", rslora))
        self.A, self.B = init_lora(d_out, d_in, r, rng, std=init_scale)
        self.dA = np.zeros_like(self.A)
        self.dB = np.zeros_like(self.B)

    def forward(self, X: np.ndarray) -> tuple[np.ndarray, tuple]:
        """X (n, d_in) -> delta (n, d_out), cache."""
        return lora_forward(X, self.A, self.B, self.scale)

    def backward(self, ddelta: np.ndarray, cache: tuple) -> np.ndarray:
        """ddelta (n, d_out) -> dX (n, d_in); stores dA (r, d_in) and dB (d_out, r)."""
        _, _, A, B, _ = _unpack(cache, 5, "LoRA.forward")
        for mine, theirs in ((self.A, A), (self.B, B)):
            if theirs is not mine and not (theirs.shape == mine.shape and np.array_equal(theirs, mine)):
                raise InputError("cache: expected the cache of this layer's forward, got one built with other A / B")
        dX, self.dA, self.dB = lora_backward(ddelta, cache)
        return dX

    def update(self, lr: float) -> None:
        """One step of gradient descent on A and B (in place)."""
        lr = check_number("lr", lr, minimum=0)
        for param, grad in ((self.A, self.dA), (self.B, self.dB)):
            param -= lr * grad

    def get_merged_delta(self) -> np.ndarray:
        """scale * B A: shape (d_out, d_in), the same as the weight it adapts."""
        return self.scale * self.B @ self.A

    @property
    def n_params(self) -> int:
        """Trainable numbers: r (d_in + d_out)."""
        return self.A.size + self.B.size
