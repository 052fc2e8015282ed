"""Judges of training: one exact epoch, frozen weights untouched, accuracy against the reference, no interference.

The reference training and the test accuracy are recomputed here, in the grader, from the inputs and
the factors the student's code returned."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lora_course.feedback.project.common import (
    Outcome,
    array,
    fail,
    frozen_arrays,
    given,
    head_with,
    network,
    ref_forward,
    rng_for,
    same,
    tasks,
)
from lora_course.layer import LoRA as ReferenceLoRA
from lora_course.lessons.l05_project import D_FF, D_MODEL, ClassificationHead, accuracy, bce_with_logits, hidden


def judge_train_step(data: dict, inputs: dict) -> Outcome:
    X, y, net = np.asarray(inputs["X_net"], float), np.asarray(inputs["y_net"], float), network(inputs)
    params, lr = given(inputs), float(inputs["lr"])
    lora_1 = ReferenceLoRA(D_FF, D_MODEL, int(inputs["r"]), alpha=float(inputs["alpha"]), rng=np.random.default_rng(0))
    lora_2 = ReferenceLoRA(D_MODEL, D_MODEL, int(inputs["r"]), alpha=float(inputs["alpha"]),
                           rng=np.random.default_rng(0))
    lora_1.A, lora_1.B, lora_2.A, lora_2.B = (params[k].copy() for k in ("A1", "B1", "A2", "B2"))
    head = head_with(inputs)
    loss = reference_epoch(X, y, net, lora_1, lora_2, head, lr)
    losses = array(data, "losses").ravel()
    if losses.shape != (1,):
        fail(f"train_task(epochs=1) returned {losses.size} losses; expected 1", "return the list of per-epoch losses")
    if not np.isclose(losses[0], loss, rtol=1e-7):
        fail(f"the first loss is {losses[0]:.6g}; expected {loss:.6g} (loss before the update)",
             "record the loss of the forward pass that the gradients come from")
    if all(np.array_equal(array(data, k), np.asarray(inputs[k], float)) for k in ("A1", "B1", "A2", "B2", "head_W")):
        fail("nothing changed in one epoch: neither adapter nor the head moved",
             "in each epoch: forward, loss, head.backward, adapted_backward, and only then update(lr) on lora_1, "
             "lora_2 and the head (an update before the backward pass steps with gradients not yet computed)")
    if np.allclose(array(data, "head_W"), inputs["head_W"]) and not np.allclose(head.W, inputs["head_W"]):
        fail("the head did not change", "the head trains too: head.backward(...) then head.update(lr)")
    want = {"A1": lora_1.A, "B1": lora_1.B, "A2": lora_2.A, "B2": lora_2.B, "head_W": head.W, "head_b": head.b}
    for name, value in want.items():
        start = np.asarray(inputs[name], float)
        got_step, want_step = array(data, name) - start, value - start
        if got_step.shape == want_step.shape and np.any(want_step):
            ratio = float(np.sum(got_step * want_step) / np.sum(want_step * want_step))
            if not np.isclose(ratio, 1.0) and np.allclose(got_step, ratio * want_step, atol=1e-12):
                fail(f"{name}'s step is {ratio:.3g} times the expected step lr * d{name}",
                     "update with the lr argument train_task receives, unchanged (no constant learning rate)")
        if np.allclose(array(data, name), np.asarray(inputs[name], float)) and name in ("A1", "B1", "A2", "B2"):
            fail(f"{name} did not change in one epoch", "call update(lr) on both adapters after the backward pass")
        same(name, array(data, name), value, "one epoch = forward, loss, head.backward, adapted_backward, "
              "then update the two adapters and the head with the same lr", atol=1e-10)
    return Outcome(True, "one epoch = one exact full-batch gradient step on both adapters and the head")


def reference_epoch(X, y, net, lora_1, lora_2, head, lr: float) -> float:
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


def trained_something(data: dict, suffix: str) -> None:
    """Fail unless training moved some adapter factor away from how it was built: a property of training
    ("the frozen weights are unchanged", "task B leaves task A alone") says nothing about code that trains nothing."""
    moved = False
    for key in ("A1", "B1", "A2", "B2"):
        got, built = array(data, f"{key}{suffix}"), array(data, f"{key}_untrained")
        if got.shape != built.shape:
            fail(f"trained {key}: expected shape {built.shape}, got {got.shape}", "see the lora_init check")
        moved = moved or got.tobytes() != built.tobytes()
    if moved:
        return
    fail("train_task left both adapters as they were built: nothing was trained, so this property of training "
         "cannot be checked", "train_task runs epochs of forward, backward and update on both adapters")


def judge_frozen(data: dict, inputs: dict) -> Outcome:
    net = network(inputs)
    for name, want in frozen_arrays(net).items():
        got = array(data, name)
        if got.shape != want.shape or got.tobytes() != want.tobytes():
            fail(f"the frozen {name} changed during training", "only A, B and the head are trained: never "
                 "write to net.W1, net.b1, net.W2 or net.b2 (no -=, no in-place ops)")
    trained_something(data, "_trained")
    return Outcome(True, "W1, b1, W2, b2 are byte-identical after training")


def reference_accuracy(inputs: dict, task: str) -> float:
    net, split = network(inputs), tasks(inputs)[task]
    r, a, s = int(inputs["r"]), float(inputs["train_alpha"]), float(inputs["train_init_scale"])
    lora_1 = ReferenceLoRA(D_FF, D_MODEL, r, alpha=a, init_scale=s, rng=rng_for(inputs, 1))
    lora_2 = ReferenceLoRA(D_MODEL, D_MODEL, r, alpha=a, init_scale=s, rng=rng_for(inputs, 2))
    head = ClassificationHead(D_MODEL, rng_for(inputs, 3))
    for _ in range(int(inputs["epochs"])):
        reference_epoch(split.X_train, split.y_train, net, lora_1, lora_2, head, float(inputs["train_lr"]))
    params = {"A1": lora_1.A, "B1": lora_1.B, "A2": lora_2.A, "B2": lora_2.B}
    return held_out_accuracy(inputs, task, params, head.W, head.b)


def held_out_accuracy(inputs: dict, task: str, params: dict, head_W, head_b) -> float:
    net, split = network(inputs), tasks(inputs)[task]
    s = float(inputs["train_alpha"]) / int(inputs["r"])
    out, _ = ref_forward(split.X_test, net, params, s, s)
    head = ClassificationHead(D_MODEL, np.random.default_rng(0))
    head.W, head.b = np.asarray(head_W, float), np.asarray(head_b, float)
    return accuracy(head.predict(out), split.y_test)


def judge_accuracy(task: str) -> Callable[[dict, dict], Outcome]:
    def judge(data: dict, inputs: dict) -> Outcome:
        params = {k: array(data, k) for k in ("A1", "B1", "A2", "B2")}
        for k, v in given(inputs).items():
            if params[k].shape != v.shape:
                fail(f"trained {k}: expected shape {v.shape}, got {params[k].shape}", "see the lora_init check")
        head_W, head_b = array(data, "head_W"), array(data, "head_b")
        if head_W.shape != (D_MODEL, 1) or head_b.shape != (1,):
            fail(f"head: expected W (8, 1) and b (1,), got {head_W.shape} and {head_b.shape}",
                 "use the given ClassificationHead")
        got = held_out_accuracy(inputs, task, params, head_W, head_b)
        want = reference_accuracy(inputs, task)
        if got < want - 0.02:
            fail(f"task {task} test accuracy {got:.3f}; the reference reaches {want:.3f} with the same "
                 "seeds, epochs and learning rate", "pass the earlier checks first (exact gradients, updates, "
                 "scale); train_task must use its epochs and lr arguments")
        return Outcome(True, f"task {task} test accuracy {got:.3f} (reference {want:.3f}, held-out split) for "
                             "adapters the check trained from its own seeds, not the notebook's, so a figure printed "
                             "above may differ in the last digit")
    return judge


def judge_no_interference(data: dict, inputs: dict) -> Outcome:
    for name, want in frozen_arrays(network(inputs)).items():
        if array(data, f"net_{name}").tobytes() != want.tobytes():
            fail(f"training the two tasks changed the shared network's {name}", "never write to the frozen weights")
    for key in ("A1", "B1", "A2", "B2", "head_W", "head_b"):
        before, after = array(data, f"{key}_before"), array(data, f"{key}_after")
        if before.shape != after.shape or before.tobytes() != after.tobytes():
            fail(f"training task B changed task A's {key}",
                 "each task gets its own LoRA objects and head; train_task must only touch its arguments")
    trained_something(data, "_before")
    return Outcome(True, "training task B left task A's adapters, head and the shared network byte-identical")
