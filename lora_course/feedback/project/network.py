"""Judges of the adapted network: zero initialisation, the wiring of the two adapters, exact back-propagation."""

from __future__ import annotations

import numpy as np

from lora_course.feedback.project.common import (
    Outcome,
    array,
    fail,
    given,
    head_with,
    network,
    ref_forward,
    same,
    scales,
)
from lora_course.layer import lora_backward, lora_forward
from lora_course.lessons.l05_project import bce_with_logits, network_forward


def judge_zero_init(data: dict, inputs: dict) -> Outcome:
    want = network_forward(np.asarray(inputs["X_net"], float), network(inputs))
    got = array(data, "out")
    if got.shape != want.shape:
        fail(f"out: expected shape {want.shape}, got {got.shape}", "out has the frozen network's shape (n, d)")
    err = float(np.max(np.abs(got - want)))
    if err > 1e-12:
        fail(f"with freshly built adapters the output differs from the frozen network by {err:.3g}",
             "B must start at zero, and each delta must be added to (not replace) the frozen path")
    used = array(data, "out_with_adapters")
    if used.shape == want.shape and float(np.max(np.abs(used - want))) <= 1e-12:
        fail("the output is the frozen network's even with adapters whose B is not zero: the adapters are not "
             "used, so leaving the output unchanged proves nothing", "add lora_1's delta to h2 and lora_2's "
             "delta to the output (see adapted_forward)")
    return Outcome(True, "fresh adapters leave the frozen network's output unchanged (max |diff| < 1e-12)")


def judge_adapted_forward(data: dict, inputs: dict) -> Outcome:
    X, net, params = np.asarray(inputs["X_net"], float), network(inputs), given(inputs)
    s = float(inputs["alpha"]) / int(inputs["r"])
    want, (_, _, h1, h2) = ref_forward(X, net, params, s, s)
    got = array(data, "out")
    if got.shape == want.shape:
        frozen_h2 = h1 @ net.W2 + net.b2
        variants = {
            "lora_2 must see h2 after lora_1's delta is added: h2 = h1 W2 + b2 + delta1, then lora_2(h2)":
                h2 + lora_forward(frozen_h2, params["A2"], params["B2"], s)[0],
            "out = h2 + delta2: the adapted network keeps the frozen path and adds the branch":
                lora_forward(h2, params["A2"], params["B2"], s)[0],
            "lora_1 is missing: h2 = h1 W2 + b2 + lora_1(h1)": ref_forward(X, net, {**params, "B1": 0 * params["B1"]},
                                                                           s, s)[0],
            "no relu after W2: only h1 = relu(X W1 + b1) has one; h2 = h1 W2 + b2 + lora_1(h1) stays linear":
                _relu_h2(h1, net, params, s),
            "lora_1's delta belongs in h2 only: out = h2 + lora_2(h2), not + delta1 once more":
                want + (h2 - frozen_h2),
        }
        for hint, value in variants.items():
            if np.allclose(got, value, atol=1e-10):
                fail("out matches a different wiring of the two adapters", hint)
    same("out", got, want, "h1 = relu(X W1 + b1); h2 = h1 W2 + b2 + lora_1(h1); out = h2 + lora_2(h2)",
         atol=1e-10)
    return Outcome(True, "out = h2 + lora_2(h2) with h2 = h1 W2 + b2 + lora_1(h1)")


def _relu_h2(h1: np.ndarray, net, params: dict, s: float) -> np.ndarray:
    h2 = np.maximum(h1 @ net.W2 + net.b2 + lora_forward(h1, params["A1"], params["B1"], s)[0], 0.0)
    return h2 + lora_forward(h2, params["A2"], params["B2"], s)[0]


def judge_exact_backprop(data: dict, inputs: dict) -> Outcome:
    X, net, params = np.asarray(inputs["X_net"], float), network(inputs), given(inputs)
    s = float(inputs["alpha"]) / int(inputs["r"])
    out, (cache1, cache2, _, _) = ref_forward(X, net, params, s, s)
    head = head_with(inputs)
    logits, head_cache = head.forward(out)
    _, dlogits = bce_with_logits(logits, np.asarray(inputs["y_net"], float))
    dout = head.backward(dlogits, head_cache)
    dh2_via_2, dA2, dB2 = lora_backward(dout, cache2)
    grad_h2 = dout + dh2_via_2
    _, dA1, dB1 = lora_backward(grad_h2, cache1)
    _, dA1_simple, dB1_simple = lora_backward(dout, cache1)
    got_dA1, got_dB1 = array(data, "dA1"), array(data, "dB1")
    if got_dA1.shape == dA1.shape and got_dB1.shape == dB1.shape and np.allclose(got_dA1, dA1_simple) \
            and np.allclose(got_dB1, dB1_simple):
        fail("lora_1's gradients ignore the path through lora_2",
             "h2 feeds both the output and lora_2, so grad wrt h2 = grad_out + lora_2.backward(grad_out, cache2); "
             "pass that sum to lora_1.backward")
    factors = scales(inputs, n=X.shape[0])
    same("dA2", array(data, "dA2"), dA2, "lora_2.backward(grad_out, cache2)", factors=factors)
    same("dB2", array(data, "dB2"), dB2, "lora_2.backward(grad_out, cache2)", factors=factors)
    same("returned grad wrt h2", array(data, "grad_h2"), grad_h2,
         "grad wrt h2 = grad_out + the gradient lora_2.backward returns",
         variants={"the skip path is missing: out = h2 + delta2, so grad wrt h2 = grad_out + what lora_2.backward "
                   "returns": dh2_via_2,
                   "lora_2's branch is missing: grad wrt h2 = grad_out + what lora_2.backward returns": dout})
    same("dA1", got_dA1, dA1, "lora_1.backward(grad wrt h2, cache1)", factors=factors)
    same("dB1", got_dB1, dB1, "lora_1.backward(grad wrt h2, cache1)", factors=factors)
    return Outcome(True, "all four gradients match exact back-propagation through both adapters")
