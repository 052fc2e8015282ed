"""Adam (Kingma & Ba, 2015) over a dictionary of named parameters, updated in place."""

from __future__ import annotations

import numpy as np

from lora_course.validation import (
    InputError,
    as_array,
    as_real,
    check_mapping,
    check_number,
    check_sequence,
    check_shape,
)


class Adam:
    """Adam with bias correction. ``step(params, grads)`` updates ``params[name]`` for every name in ``names``.

    Only the named arrays move; everything else in ``params`` stays frozen.
    """

    def __init__(self, names: list[str], lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        names = check_sequence("names", names, min_len=1)
        if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
            raise InputError(f"names: expected distinct parameter names (strings), got {names!r}")
        check_number("lr", lr, minimum=0)
        for label, beta in (("beta1", beta1), ("beta2", beta2)):
            check_number(label, beta, minimum=0, strict=False, maximum=1, max_strict=True, what="a number in [0, 1)")
        check_number("eps", eps, minimum=0)
        self.names = list(names)
        self.lr, self.beta1, self.beta2, self.eps = float(lr), beta1, beta2, eps
        self.m: np.ndarray | None = None     # first and second moments of every named array, flat, in names' order
        self.v: np.ndarray | None = None
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.t = 0

    def _check_step(self, params, grads, lr) -> None:
        check_mapping("params", params)
        check_mapping("grads", grads)
        if lr is not None:
            check_number("lr", lr, minimum=0)
        for name in self.names:
            if name not in params:
                raise KeyError(f"params: expected trainable parameter {name!r}, got keys {sorted(params)}")
            if name not in grads:
                raise KeyError(f"grads: expected a gradient for trainable parameter {name!r}, got none")
            p = params[name]
            if not isinstance(p, np.ndarray) or p.dtype.kind != "f" or not p.flags.writeable:
                got = f"{type(p).__name__}" + (f" of dtype {p.dtype}" if isinstance(p, np.ndarray) else "")
                raise InputError(f"params[{name!r}]: expected a writeable float array (updated in place), got {got}")
            g = as_real(f"grads[{name!r}]", grads[name])     # finiteness: one scan of all of them in step
            check_shape(f"grads[{name!r}]", g, p.shape, f"= params[{name!r}].shape")
            if self.shapes.get(name, p.shape) != p.shape:
                raise InputError(f"params[{name!r}]: expected shape {self.shapes[name]} (Adam's moments for it come "
                                 f"from earlier steps), got {p.shape}")

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float | None = None) -> None:
        """One update of every trainable parameter (``lr`` overrides the base rate for this step)."""
        self._check_step(params, grads, lr)
        # One flat vector for all named arrays: the same element-wise arithmetic as one update per array, in a
        # handful of numpy calls instead of a dozen per array (the toy models' arrays are small).
        g = np.concatenate([np.ravel(grads[name]) for name in self.names])   # checked above: real, of their shapes
        g = g.astype(np.float64) if g.dtype.kind in "iu" else g
        if not np.isfinite(g).all():                     # before any state changes: a refused step leaves none
            for name in self.names:
                as_array(f"grads[{name!r}]", grads[name])        # raises, naming the first non-finite gradient
        self.shapes = self.shapes or {name: params[name].shape for name in self.names}
        self.t += 1
        lr = self.lr if lr is None else lr
        c1 = 1 - self.beta1**self.t
        c2 = 1 - self.beta2**self.t
        if self.m is None:
            self.m, self.v = np.zeros_like(g), np.zeros_like(g)
        m, v = self.m, self.v
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        update = lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
        start = 0
        for name in self.names:
            p = params[name]
            p -= update[start:start + p.size].reshape(p.shape)
            start += p.size
