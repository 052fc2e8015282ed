"""The kernel half of lesson 05's checks: call the student's objects on the grader's inputs, return raw arrays.

This module runs inside the student's kernel (the grader sends its source and runs a fresh copy).
It reads nothing through code a notebook could patch: the frozen network and the tasks' training
data arrive as arrays in ``inputs``; the network's arrays are read back from the instance itself
(``vars``), never through ``FrozenNetwork.arrays``; the head's gradient is computed here with plain
numpy. It returns plain float arrays and no verdict: the grader judges them and recomputes the
frozen network, the merge and the accuracy itself.

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

from lora_course.feedback.calls import Diagnosis, call, guarded, returned_array, value_and_cache

FROZEN = ("W1", "b1", "W2", "b2")
D_MODEL, D_FF = 8, 16


@dataclass(frozen=True)
class Collector:
    """One check's kernel half (the grader's probe calls ``CHECKS[name].collect(namespace, inputs)``)."""

    name: str
    collect: Callable[[dict, dict], dict[str, np.ndarray]]
    time_limit: float = 5.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "collect", guarded(self.collect, self.time_limit))


def _get(namespace: dict, name: str):
    if not isinstance(namespace, dict):
        raise TypeError(f"namespace: expected the notebook's globals() (a dict), got {type(namespace).__name__}")
    obj = namespace.get(name)
    if obj is None:
        raise NotImplementedError(f"{name} is not defined yet")
    if not callable(obj):
        raise Diagnosis(f"{name} is a {type(obj).__name__}, not a function or class", f"define {name} in its cell")
    return obj


def _attr(obj, name: str, owner: str = "your LoRA") -> np.ndarray:
    """``obj.name`` as a float copy; a Diagnosis if the attribute is missing, None or not a numeric array."""
    value = getattr(obj, name, None)
    if value is None:
        raise Diagnosis(f"{owner} has no {name} (it is missing or None)",
                        f"set self.{name} where the task says (an array, e.g. self.{name} = ...)")
    return returned_array(f"{owner}'s {name}", value)


def _pair(name: str, result) -> tuple[np.ndarray, object]:
    """(array, cache) from a method that returns both."""
    first, cache = value_and_cache(name, result)
    return returned_array(f"{name}'s first value", first), cache


def _floats(x) -> np.ndarray:
    return np.array(x, dtype=float)  # a copy: later training cannot change what was collected


def _raw(obj, name: str) -> np.ndarray:
    """``obj.name`` read from the instance's own dict (a patched class attribute or method cannot hide it)."""
    try:
        return _floats(vars(obj)[name])
    except (TypeError, KeyError):
        raise Diagnosis(f"{type(obj).__name__} object has no array {name!r} of its own",
                        f"give it its own {name} array (set it in __init__)") from None


def _network(ns: dict, inputs: dict):
    """A fresh FrozenNetwork (the class the student's code expects) holding the grader's arrays."""
    from lora_course.lessons.l05_project import FrozenNetwork
    return FrozenNetwork(**{k: _floats(inputs[f"net_{k}"]) for k in FROZEN})


def _network_arrays(net) -> dict[str, np.ndarray]:
    return {k: _raw(net, k) for k in FROZEN}


def _head(inputs: dict, rng=None):
    from lora_course.lessons.l05_project import ClassificationHead
    head = ClassificationHead(D_MODEL, rng if rng is not None else np.random.default_rng(0))
    if rng is None:
        head.W, head.b = _floats(inputs["head_W"]), _floats(inputs["head_b"])
    return head


def _rng(inputs: dict, offset: int) -> np.random.Generator:
    return np.random.default_rng(int(inputs["init_seed"]) * 10 + offset)


def _new_lora(namespace: dict, d_in: int, d_out: int, inputs: dict, rng: np.random.Generator,
              alpha: float | None, init_scale: float):
    cls = _get(namespace, "LoRA")
    return call("LoRA", cls, int(d_in), int(d_out), int(inputs["r"]), alpha=alpha, init_scale=init_scale, rng=rng)


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


def _pair_params(lora_1, lora_2, head=None) -> dict[str, np.ndarray]:
    out = {"A1": _attr(lora_1, "A"), "B1": _attr(lora_1, "B"), "A2": _attr(lora_2, "A"), "B2": _attr(lora_2, "B")}
    if head is not None:
        out.update(head_W=_raw(head, "W"), head_b=_raw(head, "b"))
    return out


def _head_gradient(out: np.ndarray, inputs: dict) -> np.ndarray:
    """d(mean BCE)/d(out) of the given head on ``out``, in plain numpy: dlogits (n,) times head_W^T."""
    W, b, y = _floats(inputs["head_W"]), _floats(inputs["head_b"]), _floats(inputs["y_net"])
    logits = (out @ W + b)[:, 0]
    dlogits = (np.exp(-np.logaddexp(0.0, -logits)) - y) / logits.size
    return dlogits[:, None] @ W.T


def collect_init(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    cls = _get(ns, "LoRA")
    k, d, r = int(inputs["init_d_in"]), int(inputs["init_d_out"]), int(inputs["init_r"])
    s = float(inputs["init_scale"])
    lora = call("LoRA", cls, k, d, r, alpha=float(inputs["init_alpha"]), init_scale=s, rng=_rng(inputs, 0))
    again = call("LoRA", cls, k, d, r, alpha=float(inputs["init_alpha"]), init_scale=s, rng=_rng(inputs, 0))
    default = call("LoRA", cls, k, d, r, init_scale=s, rng=_rng(inputs, 0))
    odd = call("LoRA", cls, k, d, r, alpha=float(inputs["init_alpha_odd"]), init_scale=s, rng=_rng(inputs, 4))
    return {"A": _attr(lora, "A"), "B": _attr(lora, "B"), "scale": _number(lora, "scale"),
            "A_again": _attr(again, "A"), "scale_default_alpha": _number(default, "scale"),
            "A_other": _attr(odd, "A"), "scale_odd_alpha": _number(odd, "scale")}


def _number(obj, name: str) -> np.ndarray:
    value = getattr(obj, name, None)
    if value is None:
        raise Diagnosis(f"your LoRA has no {name} (it is missing or None)", f"set self.{name} in __init__")
    if isinstance(value, (bool, str, list, tuple)) or np.ndim(value) != 0:
        raise Diagnosis(f"your LoRA's {name} is a {type(value).__name__}, not one number",
                        f"self.{name} is a single float")
    return _floats(value)


def collect_forward(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    lora = _lora_with(ns, inputs, inputs["A"], inputs["B"], float(inputs["alpha"]))
    delta, _ = _pair("LoRA.forward", call("LoRA.forward", lora.forward, _floats(inputs["X"])))
    return {"delta": delta}


def collect_backward(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    lora = _lora_with(ns, inputs, inputs["A"], inputs["B"], float(inputs["alpha"]))
    _, cache = _pair("LoRA.forward", call("LoRA.forward", lora.forward, _floats(inputs["X"])))
    dX = returned_array("LoRA.backward's result", call("LoRA.backward", lora.backward, _floats(inputs["G"]), cache))
    return {"dX": dX, "dA": _attr(lora, "dA"), "dB": _attr(lora, "dB")}


def collect_update(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    lora = _lora_with(ns, inputs, inputs["A"], inputs["B"], float(inputs["alpha"]))
    lora.dA, lora.dB = _floats(inputs["dA"]), _floats(inputs["dB"])
    call("LoRA.update", lora.update, float(inputs["lr"]))
    return {"A": _attr(lora, "A"), "B": _attr(lora, "B")}


def collect_merged_delta(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    lora = _lora_with(ns, inputs, inputs["A"], inputs["B"], float(inputs["alpha"]))
    return {"delta_W": returned_array("get_merged_delta()", call("LoRA.get_merged_delta", lora.get_merged_delta))}


def collect_zero_init(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    lora_1, lora_2 = _fresh_pair(ns, inputs)
    out, _ = _forward(ns, inputs, _network(ns, inputs), lora_1, lora_2)
    used, _ = _forward(ns, inputs, _network(ns, inputs), *_pair_with(ns, inputs))     # adapters with B != 0
    return {"out": out, "out_with_adapters": used}


def _forward(ns: dict, inputs: dict, net, lora_1, lora_2):
    X = _floats(inputs["X_net"])
    out, cache = _pair("adapted_forward", call("adapted_forward", _get(ns, "adapted_forward"), X, net, lora_1, lora_2))
    if out.shape != X.shape:                   # the later steps (the head, the backward pass) need out (n, d)
        raise Diagnosis(f"adapted_forward's out has shape {out.shape}; expected (n, d) = {X.shape}",
                        "out = h2 + lora_2(h2) has the shape of h2, (n, d): return it, not h1 (n, d_ff)")
    return out, cache


def collect_adapted_forward(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    lora_1, lora_2 = _pair_with(ns, inputs)
    out, _ = _forward(ns, inputs, _network(ns, inputs), lora_1, lora_2)
    return {"out": out}


def collect_exact_backprop(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    lora_1, lora_2 = _pair_with(ns, inputs)
    backward = _get(ns, "adapted_backward")
    out, cache = _forward(ns, inputs, _network(ns, inputs), lora_1, lora_2)
    grad_h2 = call("adapted_backward", backward, _head_gradient(out, inputs), cache, lora_1, lora_2)
    grads = {"grad_h2": returned_array("adapted_backward's result", grad_h2)}
    for name, lora in (("1", lora_1), ("2", lora_2)):
        grads[f"dA{name}"], grads[f"dB{name}"] = _attr(lora, "dA", f"lora_{name}"), _attr(lora, "dB", f"lora_{name}")
    return grads


def collect_train_step(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    lora_1, lora_2 = _pair_with(ns, inputs)
    head = _head(inputs)
    losses = call("train_task", _get(ns, "train_task"), _floats(inputs["X_net"]), _floats(inputs["y_net"]),
                  _network(ns, inputs), lora_1, lora_2, head, epochs=1, lr=float(inputs["lr"]))
    return {**_pair_params(lora_1, lora_2, head), "losses": _losses(losses)}


def _losses(losses) -> np.ndarray:
    """train_task's list of losses, as floats."""
    if losses is None:
        raise Diagnosis("your function returns nothing: train_task returned None",
                        "return the list of losses, one per epoch (`return losses`)")
    try:
        return np.array(list(losses), dtype=float).ravel()
    except (TypeError, ValueError):
        raise Diagnosis(f"train_task returned a {type(losses).__name__} that is not a list of numbers",
                        "append float(loss) once per epoch and return the list") from None


def _train_fresh(ns: dict, inputs: dict, task: str, net, epochs: int):
    lora_1, lora_2 = _fresh_pair(ns, inputs)
    head = _head(inputs, _rng(inputs, 3))
    call("train_task", _get(ns, "train_task"), _floats(inputs[f"task_{task}_X_train"]),
         _floats(inputs[f"task_{task}_y_train"]), net, lora_1, lora_2, head, epochs=epochs,
         lr=float(inputs["train_lr"]))
    return lora_1, lora_2, head


def _untrained(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    """The adapters and head as built for training, before any: what training must have moved."""
    return {f"{k}_untrained": v for k, v in _pair_params(*_fresh_pair(ns, inputs), _head(inputs, _rng(inputs, 3))
                                                        ).items()}


def collect_frozen_unchanged(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    net = _network(ns, inputs)
    trained = _train_fresh(ns, inputs, "A", net, int(inputs["short_epochs"]))
    return {**_network_arrays(net), **{f"{k}_trained": v for k, v in _pair_params(*trained).items()},
            **_untrained(ns, inputs)}


def collect_accuracy(task: str) -> Callable[[dict, dict], dict[str, np.ndarray]]:
    def collect(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
        return _pair_params(*_train_fresh(ns, inputs, task, _network(ns, inputs), int(inputs["epochs"])))
    return collect


def collect_merge(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    net = _network(ns, inputs)
    lora_1, lora_2 = _pair_with(ns, inputs)
    merged = call("merge_network", _get(ns, "merge_network"), net, lora_1, lora_2)
    if merged is None:
        raise Diagnosis("your function returns nothing: merge_network returned None",
                        "return the new FrozenNetwork (`return FrozenNetwork(...)`)")
    data = {f"merged_{k}": v for k, v in _network_arrays(merged).items()}
    data.update({f"net_{k}": v for k, v in _network_arrays(net).items()})
    return data


def collect_no_interference(ns: dict, inputs: dict) -> dict[str, np.ndarray]:
    net = _network(ns, inputs)
    trained_a = _train_fresh(ns, inputs, "A", net, int(inputs["epochs"]))
    before = {f"{k}_before": v for k, v in _pair_params(*trained_a).items()}
    _train_fresh(ns, inputs, "B", net, int(inputs["epochs"]))     # separate adapters and head, same network
    after = {f"{k}_after": v for k, v in _pair_params(*trained_a).items()}
    return {**before, **after, **{f"net_{k}": v for k, v in _network_arrays(net).items()}, **_untrained(ns, inputs)}


CHECKS: dict[str, Collector] = {c.name: c for c in (
    Collector("lora_init", collect_init),
    Collector("lora_forward", collect_forward),
    Collector("lora_backward", collect_backward),
    Collector("lora_update", collect_update),
    Collector("merged_delta", collect_merged_delta),
    Collector("zero_init", collect_zero_init),
    Collector("adapted_forward", collect_adapted_forward),
    Collector("exact_backprop", collect_exact_backprop),
    Collector("train_step", collect_train_step, 10.0),
    Collector("frozen_unchanged", collect_frozen_unchanged, 30.0),
    Collector("accuracy_task_a", collect_accuracy("A"), 90.0),
    Collector("merge_equivalence", collect_merge),
    Collector("accuracy_task_b", collect_accuracy("B"), 90.0),
    Collector("no_interference", collect_no_interference, 180.0),
)}
