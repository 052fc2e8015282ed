"""Stage checks for lesson 05's project (LoRA from scratch), shared by the notebook and the grader.

Each check has two halves:

- ``collect(namespace, inputs)`` runs in the student's kernel. It only calls the student's objects
  (``LoRA``, ``adapted_forward``, ``adapted_backward``, ``train_task``, ``merge_network``) on the
  inputs and returns plain float arrays, so the result can be saved as npz or JSON.
- ``judge(data, inputs)`` runs wherever the grader likes: pure numpy, it rebuilds the reference from
  the inputs with ``lora_course.layer`` and ``lora_course.project_data`` and compares. It never trusts
  a verdict computed on the student's side.

The student's interface (row convention, a batch of n rows):

    LoRA(d_in, d_out, r, alpha=None, init_scale=0.01, rng=...)   A: (r, d_in), B: (d_out, r), scale
    .forward(x) -> (delta, cache)        .backward(grad_output, cache) -> grad wrt x (stores dA, dB)
    .update(lr)                           .get_merged_delta() -> (d_out, d_in)
    adapted_forward(X, net, lora_1, lora_2) -> (out, cache)
        h1 = relu(X W1 + b1); h2 = h1 W2 + b2 + lora_1(h1); out = h2 + lora_2(h2)
    adapted_backward(grad_out, cache, lora_1, lora_2) -> grad wrt h2 (stores every dA, dB)
    train_task(X, y, net, lora_1, lora_2, head, epochs, lr) -> list of losses (full-batch gradient descent)
    merge_network(net, lora_1, lora_2) -> FrozenNetwork with lora_1 and lora_2 folded into W2 and b2
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .layer import LoRA as ReferenceLoRA
from .layer import lora_backward, lora_forward
from .merge import merged_delta
from .project_data import (
    D_FF,
    D_MODEL,
    ClassificationHead,
    FrozenNetwork,
    accuracy,
    bce_with_logits,
    hidden,
    make_network,
    make_tasks,
    network_forward,
)

NOT_IMPLEMENTED = "not implemented yet"


@dataclass(frozen=True)
class Outcome:
    """A check's verdict: passed, what was found, and what to try if it failed."""

    passed: bool
    message: str
    hint: str = ""


@dataclass(frozen=True)
class Check:
    """One stage check: ``collect`` in the student kernel, ``judge`` in the grader."""

    name: str
    description: str
    collect: Callable[[dict, dict], dict[str, np.ndarray]]
    judge: Callable[[dict[str, np.ndarray], dict], Outcome]


# ----------------------------------------------------------------------------------------------- inputs

def make_inputs(seed: int) -> dict[str, np.ndarray | float | int]:
    """Everything the checks feed the student's code, drawn from ``seed`` (the grader picks the seed).

    Seed 0 uses the notebook's network (net_seed 0) and data (data_seed 1).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected an integer >= 0, got {seed!r}")
    seed = int(seed)
    rng = np.random.default_rng([seed, 5])
    d, d_ff, r, n = D_MODEL, D_FF, 4, 6
    n_net = 10

    def normal(*shape: int, std: float = 1.0) -> np.ndarray:
        return rng.normal(0.0, std, shape)

    return {
        "seed": seed, "net_seed": seed, "data_seed": seed + 1, "init_seed": 1000 + seed,
        # one layer: k = d_in = 16, d = d_out = 8, alpha = 8 so scale = alpha / r = 2 (not 1, not alpha)
        "d_in": d_ff, "d_out": d, "r": r, "alpha": 8.0,
        "X": normal(n, d_ff), "A": normal(r, d_ff, std=0.5), "B": normal(d, r, std=0.5),
        "G": normal(n, d), "dA": normal(r, d_ff), "dB": normal(d, r), "lr": 0.1,
        # initialisation statistics need a bigger A: 6 x 96 = 576 draws
        "init_d_in": 96, "init_d_out": 40, "init_r": 6, "init_alpha": 12.0, "init_scale": 0.05,
        # the adapted network: lora_1 (d_ff -> d) on h1, lora_2 (d -> d) on h2
        "X_net": normal(n_net, d), "y_net": (rng.random(n_net) < 0.5).astype(float),
        "A1": normal(r, d_ff, std=0.3), "B1": normal(d, r, std=0.3),
        "A2": normal(r, d, std=0.3), "B2": normal(d, r, std=0.3),
        "head_W": normal(d, 1, std=0.5), "head_b": normal(1, std=0.1),
        # training, as in the notebook
        "train_alpha": float(r), "train_init_scale": 0.01, "epochs": 300, "train_lr": 0.3, "short_epochs": 30,
    }


def _network(inputs: dict) -> FrozenNetwork:
    return make_network(np.random.default_rng(int(inputs["net_seed"])))


def _tasks(inputs: dict):
    return make_tasks(np.random.default_rng(int(inputs["data_seed"])))


def _rng(inputs: dict, offset: int) -> np.random.Generator:
    return np.random.default_rng(int(inputs["init_seed"]) * 10 + offset)


# ----------------------------------------------------------------------------- student side (collect)

def _get(namespace: dict, name: str):
    obj = namespace.get(name)
    if obj is None:
        raise NotImplementedError(f"{name} is not defined yet")
    return obj


def _floats(x) -> np.ndarray:
    return np.array(x, dtype=float)  # a copy: later training cannot change what was collected


def _new_lora(namespace: dict, d_in: int, d_out: int, inputs: dict, rng: np.random.Generator,
              alpha: float | None, init_scale: float):
    cls = _get(namespace, "LoRA")
    return cls(int(d_in), int(d_out), int(inputs["r"]), alpha=alpha, init_scale=init_scale, rng=rng)


def _lora_with(namespace: dict, inputs: dict, A: np.ndarray, B: np.ndarray, alpha: float):
    """A student LoRA whose factors are set to the given A (r, d_in) and B (d_out, r)."""
    lora = _new_lora(namespace, A.shape[1], B.shape[0], inputs, np.random.default_rng(0), alpha, 0.01)
    lora.A, lora.B = _floats(A), _floats(B)
    return lora


def _pair_with(namespace: dict, inputs: dict):
    a = float(inputs["alpha"])
    return (_lora_with(namespace, inputs, inputs["A1"], inputs["B1"], a),
            _lora_with(namespace, inputs, inputs["A2"], inputs["B2"], a))


def _fresh_pair(namespace: dict, inputs: dict):
    a, s = float(inputs["train_alpha"]), float(inputs["train_init_scale"])
    return (_new_lora(namespace, D_FF, D_MODEL, inputs, _rng(inputs, 1), a, s),
            _new_lora(namespace, D_MODEL, D_MODEL, inputs, _rng(inputs, 2), a, s))


def _head_with(inputs: dict) -> ClassificationHead:
    head = ClassificationHead(D_MODEL, np.random.default_rng(0))
    head.W, head.b = _floats(inputs["head_W"]), _floats(inputs["head_b"])
    return head


def _pair_params(lora_1, lora_2, head=None) -> dict[str, np.ndarray]:
    out = {"A1": _floats(lora_1.A), "B1": _floats(lora_1.B), "A2": _floats(lora_2.A), "B2": _floats(lora_2.B)}
    if head is not None:
        out.update(head_W=_floats(head.W), head_b=_floats(head.b))
    return out


def _collect_init(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    cls = _get(ns, "LoRA")
    k, d, r = int(inputs["init_d_in"]), int(inputs["init_d_out"]), int(inputs["init_r"])
    s = float(inputs["init_scale"])
    lora = cls(k, d, r, alpha=float(inputs["init_alpha"]), init_scale=s, rng=_rng(inputs, 0))
    again = cls(k, d, r, alpha=float(inputs["init_alpha"]), init_scale=s, rng=_rng(inputs, 0))
    default = cls(k, d, r, init_scale=s, rng=_rng(inputs, 0))
    return {"A": _floats(lora.A), "B": _floats(lora.B), "scale": _floats(lora.scale),
            "A_again": _floats(again.A), "scale_default_alpha": _floats(default.scale)}


def _collect_forward(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    lora = _lora_with(ns, inputs, inputs["A"], inputs["B"], float(inputs["alpha"]))
    delta, _ = lora.forward(_floats(inputs["X"]))
    return {"delta": _floats(delta)}


def _collect_backward(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    lora = _lora_with(ns, inputs, inputs["A"], inputs["B"], float(inputs["alpha"]))
    _, cache = lora.forward(_floats(inputs["X"]))
    dX = lora.backward(_floats(inputs["G"]), cache)
    return {"dX": _floats(dX), "dA": _floats(lora.dA), "dB": _floats(lora.dB)}


def _collect_update(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    lora = _lora_with(ns, inputs, inputs["A"], inputs["B"], float(inputs["alpha"]))
    lora.dA, lora.dB = _floats(inputs["dA"]), _floats(inputs["dB"])
    lora.update(float(inputs["lr"]))
    return {"A": _floats(lora.A), "B": _floats(lora.B)}


def _collect_merged_delta(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    lora = _lora_with(ns, inputs, inputs["A"], inputs["B"], float(inputs["alpha"]))
    return {"delta_W": _floats(lora.get_merged_delta())}


def _collect_zero_init(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    lora_1, lora_2 = _fresh_pair(ns, inputs)
    out, _ = _get(ns, "adapted_forward")(_floats(inputs["X_net"]), _network(inputs), lora_1, lora_2)
    return {"out": _floats(out)}


def _collect_adapted_forward(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    lora_1, lora_2 = _pair_with(ns, inputs)
    out, _ = _get(ns, "adapted_forward")(_floats(inputs["X_net"]), _network(inputs), lora_1, lora_2)
    return {"out": _floats(out)}


def _collect_exact_backprop(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    lora_1, lora_2 = _pair_with(ns, inputs)
    forward, backward = _get(ns, "adapted_forward"), _get(ns, "adapted_backward")
    out, cache = forward(_floats(inputs["X_net"]), _network(inputs), lora_1, lora_2)
    head = _head_with(inputs)                       # the given head and loss: trusted code
    logits, head_cache = head.forward(_floats(out))
    _, dlogits = bce_with_logits(logits, _floats(inputs["y_net"]))
    grad_h2 = backward(head.backward(dlogits, head_cache), cache, lora_1, lora_2)
    grads = {"grad_h2": _floats(grad_h2)}
    for name, lora in (("1", lora_1), ("2", lora_2)):
        grads[f"dA{name}"], grads[f"dB{name}"] = _floats(lora.dA), _floats(lora.dB)
    return grads


def _collect_train_step(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    lora_1, lora_2 = _pair_with(ns, inputs)
    head = _head_with(inputs)
    losses = _get(ns, "train_task")(_floats(inputs["X_net"]), _floats(inputs["y_net"]), _network(inputs),
                                    lora_1, lora_2, head, epochs=1, lr=float(inputs["lr"]))
    return {**_pair_params(lora_1, lora_2, head), "losses": _floats(losses)}


def _collect_frozen_unchanged(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    net, split = _network(inputs), _tasks(inputs)["A"]
    lora_1, lora_2 = _fresh_pair(ns, inputs)
    head = ClassificationHead(D_MODEL, _rng(inputs, 3))
    _get(ns, "train_task")(split.X_train, split.y_train, net, lora_1, lora_2, head,
                           epochs=int(inputs["short_epochs"]), lr=float(inputs["train_lr"]))
    return {name: _floats(value) for name, value in net.arrays().items()}


def _train_fresh(ns: dict, inputs: dict, task: str, net: FrozenNetwork):
    split = _tasks(inputs)[task]
    lora_1, lora_2 = _fresh_pair(ns, inputs)
    head = ClassificationHead(D_MODEL, _rng(inputs, 3))
    _get(ns, "train_task")(split.X_train, split.y_train, net, lora_1, lora_2, head,
                           epochs=int(inputs["epochs"]), lr=float(inputs["train_lr"]))
    return lora_1, lora_2, head


def _collect_accuracy(task: str) -> Callable[[dict, dict], dict[str, np.ndarray]]:
    def collect(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
        return _pair_params(*_train_fresh(ns, inputs, task, _network(inputs)))
    return collect


def _collect_merge(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    net = _network(inputs)
    lora_1, lora_2 = _pair_with(ns, inputs)
    merged = _get(ns, "merge_network")(net, lora_1, lora_2)
    data = {f"merged_{k}": _floats(v) for k, v in merged.arrays().items()}
    data.update({f"net_{k}": _floats(v) for k, v in net.arrays().items()})
    return data


def _collect_no_interference(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    net = _network(inputs)
    trained_a = _train_fresh(ns, inputs, "A", net)
    before = {f"{k}_before": v for k, v in _pair_params(*trained_a).items()}
    _train_fresh(ns, inputs, "B", net)                       # separate adapters and head, same network
    after = {f"{k}_after": v for k, v in _pair_params(*trained_a).items()}
    return {**before, **after, **{f"net_{k}": _floats(v) for k, v in net.arrays().items()}}


# ---------------------------------------------------------------------------------- grader side (judge)

class _Mismatch(Exception):
    """Raised by the comparison helpers; carries the failing Outcome."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


def _fail(message: str, hint: str) -> None:
    raise _Mismatch(Outcome(False, message, hint))


def _array(data: dict, key: str) -> np.ndarray:
    if key not in data:
        _fail(f"no value collected for {key!r}", "re-run the cells above, then this check")
    try:
        value = np.asarray(data[key], dtype=float)
    except (TypeError, ValueError):
        _fail(f"{key}: expected numbers, got {type(data[key]).__name__}", "return numpy float arrays")
    if not np.all(np.isfinite(value)):
        _fail(f"{key}: contains NaN or inf", "a learning rate too large, or a division by zero, upstream")
    return value


def _scale_hint(factor: float, known: dict[str, float]) -> str:
    for hint, value in known.items():
        if np.isclose(factor, value, rtol=1e-6):
            return hint
    return ""


def _same(name: str, got: np.ndarray, want: np.ndarray, hint: str, atol: float = 1e-8,
          factors: dict[str, float] | None = None) -> None:
    """Fail unless ``got`` equals ``want`` (shape and values); diagnose transposes and constant factors."""
    if got.shape != want.shape:
        if got.shape == want.shape[::-1] and np.allclose(got.T, want, atol=atol):
            _fail(f"{name}: shape {got.shape} is the transpose of the expected {want.shape} (values match "
                  "after transposing)", f"transpose it: {name} must have the shape of the matrix it belongs to")
        _fail(f"{name}: expected shape {want.shape}, got {got.shape}", hint)
    if np.allclose(got, want, rtol=1e-7, atol=atol):
        return
    err = float(np.max(np.abs(got - want)))
    denom = float(np.sum(want * want))
    if denom > 0:
        factor = float(np.sum(got * want) / denom)
        if not np.isclose(factor, 1.0) and np.allclose(got, factor * want, rtol=1e-6, atol=atol):
            extra = _scale_hint(factor, factors or {})
            _fail(f"{name}: every entry is {factor:.4g} times the expected value",
                  extra or f"a constant factor is off; {hint}")
    if got.ndim == 2 and got.shape[0] == got.shape[1] and np.allclose(got.T, want, atol=atol):
        _fail(f"{name}: equals the transpose of the expected matrix", "check the order of the matrix product")
    _fail(f"{name}: differs from the reference by up to {err:.3g}", hint)


def _scales(inputs: dict, n: int | None = None) -> dict[str, float]:
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


def _ref_forward(X: np.ndarray, net: FrozenNetwork, params: dict, scale_1: float, scale_2: float):
    """Reference adapted forward (row convention) with the package's LoRA branch."""
    h1 = hidden(X, net)
    delta1, cache1 = lora_forward(h1, params["A1"], params["B1"], scale_1)
    h2 = h1 @ net.W2 + net.b2 + delta1
    delta2, cache2 = lora_forward(h2, params["A2"], params["B2"], scale_2)
    return h2 + delta2, (cache1, cache2, h1, h2)


def _given(inputs: dict) -> dict[str, np.ndarray]:
    return {k: np.asarray(inputs[k], dtype=float) for k in ("A1", "B1", "A2", "B2")}


def _judge_init(data: dict, inputs: dict) -> Outcome:
    k, d, r = int(inputs["init_d_in"]), int(inputs["init_d_out"]), int(inputs["init_r"])
    std_want, alpha = float(inputs["init_scale"]), float(inputs["init_alpha"])
    A, B = _array(data, "A"), _array(data, "B")
    if A.shape != (r, k):
        _fail(f"A: expected shape (r, d_in) = {(r, k)}, got {A.shape}", "A projects down: (r, d_in)")
    if B.shape != (d, r):
        _fail(f"B: expected shape (d_out, r) = {(d, r)}, got {B.shape}", "B projects up: (d_out, r)")
    if np.any(B != 0):
        _fail(f"B is not zero after __init__ (max |B| = {np.max(np.abs(B)):.3g})",
              "B starts at exactly zero so B A = 0 and the adapted network starts as the frozen one; "
              "the Gaussian goes into A")
    if np.all(A == 0):
        _fail("A is all zeros", "with A = B = 0 both gradients vanish and nothing trains: draw A from "
              "N(0, init_scale^2)")
    std, mean = float(A.std()), float(A.mean())
    if abs(std / std_want - 1) > 0.15 or abs(mean) > 4 * std_want / np.sqrt(A.size):
        _fail(f"A's entries have mean {mean:.3g} and std {std:.3g}; expected mean 0 and std {std_want}",
              "A = rng.normal(0.0, init_scale, size=(r, d_in)): init_scale is the standard deviation")
    if not np.array_equal(A, _array(data, "A_again")):
        _fail("two LoRAs built with the same seed have different A",
              "draw A from the rng argument, not from np.random or a fresh generator")
    scale, default = float(_array(data, "scale")), float(_array(data, "scale_default_alpha"))
    if not np.isclose(scale, alpha / r):
        _fail(f"scale = {scale:.4g} for alpha = {alpha:g}, r = {r}; expected alpha / r = {alpha / r:.4g}",
              "scale = alpha / r (with alpha = r when alpha is None)")
    if not np.isclose(default, 1.0):
        _fail(f"with alpha omitted, scale = {default:.4g}; expected 1", "alpha defaults to r, so scale = 1")
    return Outcome(True, f"A ~ N(0, {std_want}^2) with shape {A.shape}, B = 0 with shape {B.shape}, "
                         "scale = alpha / r")


def _judge_forward(data: dict, inputs: dict) -> Outcome:
    X = np.asarray(inputs["X"], float)
    want, _ = lora_forward(X, inputs["A"], inputs["B"], float(inputs["alpha"]) / int(inputs["r"]))
    _same("delta", _array(data, "delta"), want, "delta = scale * (x @ A.T) @ B.T", factors=_scales(inputs))
    return Outcome(True, f"delta = scale x A^T B^T, shape {want.shape}")


def _judge_backward(data: dict, inputs: dict) -> Outcome:
    X, G = np.asarray(inputs["X"], float), np.asarray(inputs["G"], float)
    _, cache = lora_forward(X, inputs["A"], inputs["B"], float(inputs["alpha"]) / int(inputs["r"]))
    dX, dA, dB = lora_backward(G, cache)
    factors = _scales(inputs, n=X.shape[0])
    _same("dB", _array(data, "dB"), dB, "dB = scale * grad_output.T @ z, shape (d_out, r)", factors=factors)
    _same("dA", _array(data, "dA"), dA, "dA = (scale * grad_output @ B).T @ x, shape (r, d_in)", factors=factors)
    _same("grad wrt x (the return value)", _array(data, "dX"), dX,
          "return (scale * grad_output @ B) @ A, shape (n, d_in)", factors=factors)
    return Outcome(True, "dA, dB and the gradient wrt x match the reference")


def _judge_update(data: dict, inputs: dict) -> Outcome:
    lr = float(inputs["lr"])
    for name in ("A", "B"):
        want = np.asarray(inputs[name], float) - lr * np.asarray(inputs["d" + name], float)
        got = _array(data, name)
        if got.shape == want.shape and np.allclose(got, np.asarray(inputs[name], float) + lr * inputs["d" + name]):
            _fail(f"{name} moved up the gradient", "gradient descent subtracts: A -= lr * dA")
        _same(name, got, want, f"{name} -= lr * d{name}")
    return Outcome(True, "A -= lr dA and B -= lr dB")


def _judge_merged_delta(data: dict, inputs: dict) -> Outcome:
    want = merged_delta(inputs["A"], inputs["B"], float(inputs["alpha"]) / int(inputs["r"]))
    _same("get_merged_delta()", _array(data, "delta_W"), want,
          "return scale * B @ A, shape (d_out, d_in)", factors=_scales(inputs))
    return Outcome(True, f"scale B A with shape (d_out, d_in) = {want.shape}")


def _judge_zero_init(data: dict, inputs: dict) -> Outcome:
    want = network_forward(np.asarray(inputs["X_net"], float), _network(inputs))
    got = _array(data, "out")
    if got.shape != want.shape:
        _fail(f"out: expected shape {want.shape}, got {got.shape}", "out has the frozen network's shape (n, d)")
    err = float(np.max(np.abs(got - want)))
    if err > 1e-12:
        _fail(f"with freshly built adapters the output differs from the frozen network by {err:.3g}",
              "B must start at zero, and each delta must be added to (not replace) the frozen path")
    return Outcome(True, "fresh adapters leave the frozen network's output unchanged (max |diff| < 1e-12)")


def _judge_adapted_forward(data: dict, inputs: dict) -> Outcome:
    X, net, params = np.asarray(inputs["X_net"], float), _network(inputs), _given(inputs)
    s = float(inputs["alpha"]) / int(inputs["r"])
    want, (_, _, h1, h2) = _ref_forward(X, net, params, s, s)
    got = _array(data, "out")
    if got.shape == want.shape:
        frozen_h2 = h1 @ net.W2 + net.b2
        variants = {
            "lora_2 must see h2 after lora_1's delta is added: h2 = h1 W2 + b2 + delta1, then lora_2(h2)":
                h2 + lora_forward(frozen_h2, params["A2"], params["B2"], s)[0],
            "out = h2 + delta2: the adapted network keeps the frozen path and adds the branch":
                lora_forward(h2, params["A2"], params["B2"], s)[0],
            "lora_1 is missing: h2 = h1 W2 + b2 + lora_1(h1)": _ref_forward(X, net, {**params, "B1": 0 * params["B1"]},
                                                                           s, s)[0],
        }
        for hint, value in variants.items():
            if np.allclose(got, value, atol=1e-10):
                _fail("out matches a different wiring of the two adapters", hint)
    _same("out", got, want, "h1 = relu(X W1 + b1); h2 = h1 W2 + b2 + lora_1(h1); out = h2 + lora_2(h2)",
          atol=1e-10)
    return Outcome(True, "out = h2 + lora_2(h2) with h2 = h1 W2 + b2 + lora_1(h1)")


def _judge_exact_backprop(data: dict, inputs: dict) -> Outcome:
    X, net, params = np.asarray(inputs["X_net"], float), _network(inputs), _given(inputs)
    s = float(inputs["alpha"]) / int(inputs["r"])
    out, (cache1, cache2, _, _) = _ref_forward(X, net, params, s, s)
    head = _head_with(inputs)
    logits, head_cache = head.forward(out)
    _, dlogits = bce_with_logits(logits, np.asarray(inputs["y_net"], float))
    dout = head.backward(dlogits, head_cache)
    dh2_via_2, dA2, dB2 = lora_backward(dout, cache2)
    grad_h2 = dout + dh2_via_2
    _, dA1, dB1 = lora_backward(grad_h2, cache1)
    _, dA1_simple, dB1_simple = lora_backward(dout, cache1)
    got_dA1, got_dB1 = _array(data, "dA1"), _array(data, "dB1")
    if got_dA1.shape == dA1.shape and got_dB1.shape == dB1.shape and np.allclose(got_dA1, dA1_simple) \
            and np.allclose(got_dB1, dB1_simple):
        _fail("lora_1's gradients ignore the path through lora_2",
              "h2 feeds both the output and lora_2, so grad wrt h2 = grad_out + lora_2.backward(grad_out, cache2); "
              "pass that sum to lora_1.backward")
    factors = _scales(inputs, n=X.shape[0])
    _same("dA2", _array(data, "dA2"), dA2, "lora_2.backward(grad_out, cache2)", factors=factors)
    _same("dB2", _array(data, "dB2"), dB2, "lora_2.backward(grad_out, cache2)", factors=factors)
    _same("returned grad wrt h2", _array(data, "grad_h2"), grad_h2,
          "grad wrt h2 = grad_out + the gradient lora_2.backward returns")
    _same("dA1", got_dA1, dA1, "lora_1.backward(grad wrt h2, cache1)", factors=factors)
    _same("dB1", got_dB1, dB1, "lora_1.backward(grad wrt h2, cache1)", factors=factors)
    return Outcome(True, "all four gradients match exact back-propagation through both adapters")


def _judge_train_step(data: dict, inputs: dict) -> Outcome:
    X, y, net = np.asarray(inputs["X_net"], float), np.asarray(inputs["y_net"], float), _network(inputs)
    params, lr = _given(inputs), float(inputs["lr"])
    lora_1 = ReferenceLoRA(D_FF, D_MODEL, int(inputs["r"]), alpha=float(inputs["alpha"]), rng=np.random.default_rng(0))
    lora_2 = ReferenceLoRA(D_MODEL, D_MODEL, int(inputs["r"]), alpha=float(inputs["alpha"]),
                           rng=np.random.default_rng(0))
    lora_1.A, lora_1.B, lora_2.A, lora_2.B = (params[k].copy() for k in ("A1", "B1", "A2", "B2"))
    head = _head_with(inputs)
    loss = _reference_epoch(X, y, net, lora_1, lora_2, head, lr)
    losses = _array(data, "losses").ravel()
    if losses.shape != (1,):
        _fail(f"train_task(epochs=1) returned {losses.size} losses; expected 1", "return the list of per-epoch losses")
    if not np.isclose(losses[0], loss, rtol=1e-7):
        _fail(f"the first loss is {losses[0]:.6g}; expected {loss:.6g} (loss before the update)",
              "record the loss of the forward pass that the gradients come from")
    if np.allclose(_array(data, "head_W"), inputs["head_W"]) and not np.allclose(head.W, inputs["head_W"]):
        _fail("the head did not change", "the head trains too: head.backward(...) then head.update(lr)")
    want = {"A1": lora_1.A, "B1": lora_1.B, "A2": lora_2.A, "B2": lora_2.B, "head_W": head.W, "head_b": head.b}
    for name, value in want.items():
        if np.allclose(_array(data, name), np.asarray(inputs[name], float)) and name in ("A1", "B1", "A2", "B2"):
            _fail(f"{name} did not change in one epoch", "call update(lr) on both adapters after the backward pass")
        _same(name, _array(data, name), value, "one epoch = forward, loss, head.backward, adapted_backward, "
              "then update the two adapters and the head with the same lr", atol=1e-10)
    return Outcome(True, "one epoch = one exact full-batch gradient step on both adapters and the head")


def _reference_epoch(X, y, net, lora_1, lora_2, head, lr: float) -> float:
    h1 = hidden(X, net)
    delta1, cache1 = lora_1.forward(h1)
    h2 = h1 @ net.W2 + net.b2 + delta1
    delta2, cache2 = lora_2.forward(h2)
    logits, head_cache = head.forward(h2 + delta2)
    loss, dlogits = bce_with_logits(logits, y)
    dout = head.backward(dlogits, head_cache)
    lora_1.backward(dout + lora_2.backward(dout, cache2), cache1)
    for module in (lora_1, lora_2, head):
        module.update(lr)
    return loss


def _judge_frozen(data: dict, inputs: dict) -> Outcome:
    net = _network(inputs)
    for name, want in net.arrays().items():
        got = _array(data, name)
        if got.shape != want.shape or got.tobytes() != want.tobytes():
            _fail(f"the frozen {name} changed during training", "only A, B and the head are trained: never "
                  "write to net.W1, net.b1, net.W2 or net.b2 (no -=, no in-place ops)")
    return Outcome(True, "W1, b1, W2, b2 are byte-identical after training")


def _reference_accuracy(inputs: dict, task: str) -> float:
    net, split = _network(inputs), _tasks(inputs)[task]
    r, a, s = int(inputs["r"]), float(inputs["train_alpha"]), float(inputs["train_init_scale"])
    lora_1 = ReferenceLoRA(D_FF, D_MODEL, r, alpha=a, init_scale=s, rng=_rng(inputs, 1))
    lora_2 = ReferenceLoRA(D_MODEL, D_MODEL, r, alpha=a, init_scale=s, rng=_rng(inputs, 2))
    head = ClassificationHead(D_MODEL, _rng(inputs, 3))
    for _ in range(int(inputs["epochs"])):
        _reference_epoch(split.X_train, split.y_train, net, lora_1, lora_2, head, float(inputs["train_lr"]))
    params = {"A1": lora_1.A, "B1": lora_1.B, "A2": lora_2.A, "B2": lora_2.B}
    return _test_accuracy(inputs, task, params, head.W, head.b)


def _test_accuracy(inputs: dict, task: str, params: dict, head_W, head_b) -> float:
    net, split = _network(inputs), _tasks(inputs)[task]
    s = float(inputs["train_alpha"]) / int(inputs["r"])
    out, _ = _ref_forward(split.X_test, net, params, s, s)
    head = ClassificationHead(D_MODEL, np.random.default_rng(0))
    head.W, head.b = np.asarray(head_W, float), np.asarray(head_b, float)
    return accuracy(head.predict(out), split.y_test)


def _judge_accuracy(task: str) -> Callable[[dict, dict], Outcome]:
    def judge(data: dict, inputs: dict) -> Outcome:
        params = {k: _array(data, k) for k in ("A1", "B1", "A2", "B2")}
        for k, v in _given(inputs).items():
            if params[k].shape != v.shape:
                _fail(f"trained {k}: expected shape {v.shape}, got {params[k].shape}", "see the lora_init check")
        head_W, head_b = _array(data, "head_W"), _array(data, "head_b")
        if head_W.shape != (D_MODEL, 1) or head_b.shape != (1,):
            _fail(f"head: expected W (8, 1) and b (1,), got {head_W.shape} and {head_b.shape}",
                  "use the given ClassificationHead")
        got = _test_accuracy(inputs, task, params, head_W, head_b)
        want = _reference_accuracy(inputs, task)
        if got < want - 0.02:
            _fail(f"task {task} test accuracy {got:.3f}; the reference reaches {want:.3f} with the same "
                  "seeds, epochs and learning rate", "pass the earlier checks first (exact gradients, updates, "
                  "scale); train_task must use its epochs and lr arguments")
        return Outcome(True, f"task {task} test accuracy {got:.3f} (reference {want:.3f}, held-out split)")
    return judge


def _judge_merge(data: dict, inputs: dict) -> Outcome:
    X, net, params = np.asarray(inputs["X_net"], float), _network(inputs), _given(inputs)
    for name, want in net.arrays().items():
        if _array(data, f"net_{name}").tobytes() != want.tobytes():
            _fail(f"merge_network changed the frozen network's {name}",
                  "build new arrays (W2 + ...) instead of writing into net.W2 or net.b2")
    s = float(inputs["alpha"]) / int(inputs["r"])
    want, _ = _ref_forward(X, net, params, s, s)
    merged = FrozenNetwork(*(_array(data, f"merged_{k}") for k in ("W1", "b1", "W2", "b2")))
    shapes = {k: v.shape for k, v in merged.arrays().items()}
    if shapes != {k: v.shape for k, v in net.arrays().items()}:
        _fail(f"the merged network's shapes are {shapes}; expected the frozen network's",
              "merging adds no layer: W2' is (d_ff, d) and b2' is (d,)")
    got = network_forward(X, merged)
    err = float(np.max(np.abs(got - want)))
    if err > 1e-10:
        only_1 = net.W2 + merged_delta(params["A1"], params["B1"], s).T
        M = merged_delta(params["A2"], params["B2"], s).T                    # (d, d), row convention
        if np.allclose(merged.W2, only_1):
            hint = "lora_2 is not folded in: out = h2 (I + M) with M = scale A2^T B2^T, so W2 and b2 both get (I + M)"
        elif np.allclose(merged.W2, only_1 @ (np.eye(D_MODEL) + M)):
            hint = "b2 also flows through lora_2: b2' = b2 (I + M)"
        else:
            hint = "W2' = (W2 + delta_W1^T)(I + M) and b2' = b2 (I + M), with delta_W = get_merged_delta()"
        _fail(f"the merged network differs from the adapted one by up to {err:.3g}", hint)
    return Outcome(True, "the merged network equals the adapted one (max |diff| < 1e-10) with the frozen shapes")


def _judge_no_interference(data: dict, inputs: dict) -> Outcome:
    for name, want in _network(inputs).arrays().items():
        if _array(data, f"net_{name}").tobytes() != want.tobytes():
            _fail(f"training the two tasks changed the shared network's {name}", "never write to the frozen weights")
    for key in ("A1", "B1", "A2", "B2", "head_W", "head_b"):
        before, after = _array(data, f"{key}_before"), _array(data, f"{key}_after")
        if before.shape != after.shape or before.tobytes() != after.tobytes():
            _fail(f"training task B changed task A's {key}",
                  "each task gets its own LoRA objects and head; train_task must only touch its arguments")
    return Outcome(True, "training task B left task A's adapters, head and the shared network byte-identical")


# ------------------------------------------------------------------------------------------------ table

CHECKS: dict[str, Check] = {c.name: c for c in (
    Check("lora_init", "A Gaussian (r, d_in) with std init_scale, B zeros (d_out, r), scale = alpha / r",
          _collect_init, _judge_init),
    Check("lora_forward", "delta = scale x A^T B^T", _collect_forward, _judge_forward),
    Check("lora_backward", "dA, dB and the gradient wrt x", _collect_backward, _judge_backward),
    Check("lora_update", "one gradient-descent step on A and B", _collect_update, _judge_update),
    Check("merged_delta", "get_merged_delta() = scale B A, (d_out, d_in)", _collect_merged_delta,
          _judge_merged_delta),
    Check("zero_init", "fresh adapters leave the frozen network's output unchanged", _collect_zero_init,
          _judge_zero_init),
    Check("adapted_forward", "two adaptation points wired as specified", _collect_adapted_forward,
          _judge_adapted_forward),
    Check("exact_backprop", "exact gradients through both adapters", _collect_exact_backprop,
          _judge_exact_backprop),
    Check("train_step", "one epoch is one full-batch gradient step", _collect_train_step, _judge_train_step),
    Check("frozen_unchanged", "the frozen weights are byte-identical after training", _collect_frozen_unchanged,
          _judge_frozen),
    Check("accuracy_task_a", "task A test accuracy close to the reference", _collect_accuracy("A"),
          _judge_accuracy("A")),
    Check("merge_equivalence", "the merged network equals the adapted one", _collect_merge, _judge_merge),
    Check("accuracy_task_b", "task B test accuracy close to the reference", _collect_accuracy("B"),
          _judge_accuracy("B")),
    Check("no_interference", "training task B leaves task A untouched", _collect_no_interference,
          _judge_no_interference),
)}


def _check_name(name: str) -> Check:
    if name not in CHECKS:
        raise KeyError(f"name: expected one of {list(CHECKS)}, got {name!r}")
    return CHECKS[name]


def collect_safely(name: str, namespace: dict, inputs: dict) -> dict[str, np.ndarray] | Outcome:
    """Run a check's collect; a missing or stubbed function or an error becomes a failed Outcome."""
    check = _check_name(name)
    try:
        return check.collect(namespace, inputs)
    except NotImplementedError as err:
        detail = f" ({err})" if str(err) and str(err) != "fill in this part" else ""
        return Outcome(False, NOT_IMPLEMENTED + detail, "fill in the TODO cells above, run them, then this check")
    except Exception as err:  # noqa: BLE001 - the student's code may raise anything; report it, never crash
        return Outcome(False, f"your code raised {type(err).__name__}: {err}",
                       "run the cell with the function on its own to see the traceback")


def judge_safely(name: str, data: dict[str, np.ndarray], inputs: dict) -> Outcome:
    """Run a check's judge on collected data; malformed data gives a failed Outcome, not an exception."""
    check = _check_name(name)
    try:
        return check.judge(data, inputs)
    except _Mismatch as mismatch:
        return mismatch.outcome
    except (ValueError, TypeError, KeyError, IndexError) as err:
        return Outcome(False, f"the collected values could not be judged ({type(err).__name__}: {err})",
                       "check the shapes your functions return")


def evaluate(name: str, namespace: dict, seed: int = 0) -> Outcome:
    """collect + judge for one check, without printing."""
    inputs = make_inputs(seed)
    data = collect_safely(name, namespace, inputs)
    return data if isinstance(data, Outcome) else judge_safely(name, data, inputs)


def format_outcome(name: str, outcome: Outcome) -> str:
    """'PASS name: message' or 'FAIL name: message' plus a hint line."""
    line = f"{'PASS' if outcome.passed else 'FAIL'} {name}: {outcome.message}"
    return line if outcome.passed or not outcome.hint else f"{line}\n     hint: {outcome.hint}"


def run_check(name: str, namespace: dict, seed: int = 0) -> Outcome:
    """Run one check on the student's ``namespace`` (pass ``globals()``), print PASS/FAIL, return the Outcome."""
    outcome = evaluate(name, namespace, seed)
    print(format_outcome(name, outcome))
    return outcome


def run_all(namespace: dict, seed: int = 0) -> dict[str, Outcome]:
    """Run every check in order, print one line each and a total; return the Outcomes by name."""
    outcomes = {name: run_check(name, namespace, seed) for name in CHECKS}
    print(f"{sum(o.passed for o in outcomes.values())} / {len(outcomes)} checks pass")
    return outcomes
