"""What lesson 05's stage checks share: the Outcome and Check records, the grader's inputs, comparisons.

``make_inputs(seed)`` is called by the grader: it draws everything the checks feed the student's code
and also ships the frozen network's arrays and the tasks' training data, so the kernel side never
needs the package's builders. The comparison helpers (``same``, ``array``) raise ``Mismatch`` with the
failing Outcome; ``lora_course.feedback.project.checks`` turns that into a verdict.
"""

from __future__ import annotations

import numpy as np

from lora_course.feedback.outcomes import NOT_IMPLEMENTED, Check, Mismatch, Outcome, check_seed, fail
from lora_course.feedback.outcomes import array as _array
from lora_course.feedback.outcomes import same as _same
from lora_course.layer import lora_forward
from lora_course.lessons.l05_project import (
    D_FF,
    D_MODEL,
    ClassificationHead,
    FrozenNetwork,
    hidden,
    make_network,
    make_tasks,
)

__all__ = ["NOT_IMPLEMENTED", "Check", "Mismatch", "Outcome", "array", "fail", "frozen_arrays", "given",
           "head_with", "make_inputs", "network", "ref_forward", "rng_for", "same", "scales", "tasks"]
FROZEN = ("W1", "b1", "W2", "b2")
HEAD = ("W", "b")


def make_inputs(seed: int) -> dict[str, np.ndarray | float | int]:
    """Everything the checks feed the student's code, drawn from ``seed`` (the grader picks the seed).

    Seed 0 uses the notebook's network (net_seed 0) and data (data_seed 1).
    """
    seed = check_seed(seed)
    rng = np.random.default_rng([seed, 5])
    d, d_ff, r, n = D_MODEL, D_FF, 4, 6
    n_net = 10

    def normal(*shape: int, std: float = 1.0) -> np.ndarray:
        return rng.normal(0.0, std, shape)

    return {
        "seed": seed, "net_seed": seed, "data_seed": seed + 1, "init_seed": 1000 + seed,
        # one layer: k = d_in = 16, d = d_out = 8, r = 4, n = 6, alpha = 12: scale = alpha / r = 3, not 1, not
        # alpha, not alpha / d_out = 1.5 or alpha / d_in = 0.75 (all of them differ, none another's product)
        "d_in": d_ff, "d_out": d, "r": r, "alpha": 12.0,
        "X": normal(n, d_ff), "A": normal(r, d_ff, std=0.5), "B": normal(d, r, std=0.5),
        "G": normal(n, d), "dA": normal(r, d_ff), "dB": normal(d, r), "lr": 0.1,
        # initialisation statistics need a bigger A: 6 x 96 = 576 draws
        "init_d_in": 96, "init_d_out": 40, "init_r": 6, "init_alpha": 12.0, "init_scale": 0.05,
        "init_alpha_odd": 15.0,                 # 15 / 6 = 2.5: alpha // r (2) is no longer alpha / r
        # the adapted network: lora_1 (d_ff -> d) on h1, lora_2 (d -> d) on h2
        "X_net": normal(n_net, d), "y_net": (rng.random(n_net) < 0.5).astype(float),
        "A1": normal(r, d_ff, std=0.3), "B1": normal(d, r, std=0.3),
        "A2": normal(r, d, std=0.3), "B2": normal(d, r, std=0.3),
        "head_W": normal(d, 1, std=0.5), "head_b": normal(1, std=0.1),
        # training, as in the notebook
        "train_alpha": float(r), "train_init_scale": 0.01, "epochs": 300, "train_lr": 0.3, "short_epochs": 30,
        # what the kernel side needs, computed here so that it never calls the package's builders
        **{f"net_{k}": v for k, v in frozen_arrays(make_network(np.random.default_rng(seed))).items()},
        **{f"task_{t}_{k}": getattr(s, k) for t, s in make_tasks(np.random.default_rng(seed + 1)).items()
           for k in ("X_train", "y_train")},
    }


def frozen_arrays(net: FrozenNetwork) -> dict[str, np.ndarray]:
    """W1, b1, W2, b2 read from the instance itself (not through a method a notebook could patch)."""
    return {k: vars(net)[k] for k in FROZEN}


def network(inputs: dict) -> FrozenNetwork:
    """The frozen network of ``inputs``, rebuilt from its seed in the grader's process."""
    return make_network(np.random.default_rng(int(inputs["net_seed"])))


def tasks(inputs: dict):
    """Both tasks' data of ``inputs``, rebuilt from its seed."""
    return make_tasks(np.random.default_rng(int(inputs["data_seed"])))


def rng_for(inputs: dict, offset: int) -> np.random.Generator:
    """The generator the kernel side hands the student's LoRA number ``offset`` (0 init, 1, 2, 3 head)."""
    return np.random.default_rng(int(inputs["init_seed"]) * 10 + offset)


def head_with(inputs: dict) -> ClassificationHead:
    """A head holding the inputs' head_W and head_b (grader side)."""
    head = ClassificationHead(D_MODEL, np.random.default_rng(0))
    head.W, head.b = np.asarray(inputs["head_W"], float).copy(), np.asarray(inputs["head_b"], float).copy()
    return head


def array(data: dict, key: str) -> np.ndarray:
    """A collected float array; fails (not raises) on missing, non-numeric or non-finite values."""
    return _array(data, key, nan_hint="a learning rate too large, or a division by zero, upstream")


def same(name: str, got: np.ndarray, want: np.ndarray, hint: str, atol: float = 1e-8,
         factors: dict[str, float] | None = None, variants: dict[str, np.ndarray] | None = None) -> None:
    """Fail unless ``got`` equals ``want`` (shape and values); diagnose transposes, constant factors and known
    wrong results (``variants``: hint -> array)."""
    _same(name, got, want, hint, atol, factors, variants, expected="the reference",
          transposed=(" (values match after transposing)",
                      "transpose it: {name} must have the shape of the matrix it belongs to"))


def scales(inputs: dict, n: int | None = None) -> dict[str, float]:
    """Constant factors typical mistakes produce, with the hint for each."""
    r, alpha = float(inputs["r"]), float(inputs["alpha"])
    scale = alpha / r
    out = {
        "scale = alpha / r: you seem to use alpha (r times too large)": r,
        "the scale alpha / r is missing": 1.0 / scale,
        "the scale alpha / r is applied twice": scale,
        "the sign is flipped": -1.0,
    }
    if n:
        out["do not divide by the batch size here: the loss's gradient already carries the 1 / n"] = 1.0 / n
    return out


def ref_forward(X: np.ndarray, net: FrozenNetwork, params: dict, scale_1: float, scale_2: float):
    """Reference adapted forward (row convention) with the package's LoRA branch."""
    h1 = hidden(X, net)
    delta1, cache1 = lora_forward(h1, params["A1"], params["B1"], scale_1)
    h2 = h1 @ net.W2 + net.b2 + delta1
    delta2, cache2 = lora_forward(h2, params["A2"], params["B2"], scale_2)
    return h2 + delta2, (cache1, cache2, h1, h2)


def given(inputs: dict) -> dict[str, np.ndarray]:
    return {k: np.asarray(inputs[k], dtype=float) for k in ("A1", "B1", "A2", "B2")}
