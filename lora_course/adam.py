"""Adam (Kingma & Ba, 2015) over a dictionary of named parameters, updated in place."""

from __future__ import annotations

import numpy as np


class Adam:
    """Adam with bias correction. ``step(params, grads)`` updates ``params[name]`` for every name in ``names``.

    Only the named arrays move; everything else in ``params`` stays frozen.
    """

    def __init__(self, names: list[str], lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        if not names:
            raise ValueError("names: expected at least one trainable parameter name, got none")
        if not (np.isfinite(lr) and lr > 0):
            raise ValueError(f"lr: expected a finite number > 0, got {lr}")
        for label, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= beta < 1:
                raise ValueError(f"{label}: expected a number in [0, 1), got {beta}")
        self.names = list(names)
        self.lr, self.beta1, self.beta2, self.eps = float(lr), beta1, beta2, eps
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}
        self.t = 0

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float | None = None) -> None:
        """One update of every trainable parameter (``lr`` overrides the base rate for this step)."""
        self.t += 1
        lr = self.lr if lr is None else lr
        c1 = 1 - self.beta1**self.t
        c2 = 1 - self.beta2**self.t
        for name in self.names:
            if name not in grads:
                raise KeyError(f"grads: expected a gradient for trainable parameter {name!r}, got none")
            g = grads[name]
            m = self.m.setdefault(name, np.zeros_like(g))
            v = self.v.setdefault(name, np.zeros_like(g))
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            params[name] -= lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
