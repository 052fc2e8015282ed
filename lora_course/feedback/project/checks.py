"""Lesson 05's stage checks (LoRA from scratch), shared by the notebook and the grader: the table and runners.

Each check has two halves: ``collect`` (``lora_course.feedback.project.collect``) runs in the student's
kernel and returns raw arrays from the student's objects; ``judge`` (the stage modules ``lora``,
``network``, ``training``, ``merging``) runs in the grader, rebuilds the reference from the inputs and
compares. A check with a ``reference`` list also fails, with the reason, when the student's
``task_names`` objects are (or lean on) the package's own implementation.
"""

from __future__ import annotations

import numpy as np

from lora_course.feedback import outcomes
from lora_course.feedback.outcomes import NOT_IMPLEMENTED, Check, Outcome, check_name, format_outcome
from lora_course.feedback.project import collect as kernel
from lora_course.feedback.project import lora, merging, network, training
from lora_course.feedback.project.common import make_inputs

COLLECT_MODULE = "lora_course.feedback.project.collect"   # the source the grader runs in the kernel
LAYER = ("lora_course.layer.LoRA", "lora_course.layer.lora_forward", "lora_course.layer.lora_backward",
         "lora_course.layer.init_lora", "lora_course.layer.linear_lora_forward",
         "lora_course.layer.linear_lora_backward")
MERGE = ("lora_course.merge.merged_delta", "lora_course.merge.merge", "lora_course.merge.MergedWeight")
_LORA, _NET, _TRAIN = ("LoRA",), ("adapted_forward", "adapted_backward"), ("train_task",)


def _check(name: str, description: str, judge, task_names: tuple[str, ...] = (),
           reference: tuple[str, ...] = ()) -> Check:
    return Check(name, description, kernel.CHECKS[name].collect, judge, task_names, reference)


CHECKS: dict[str, Check] = {c.name: c for c in (
    _check("lora_init", "A Gaussian (r, d_in) with std init_scale, B zeros (d_out, r), scale = alpha / r",
           lora.judge_init, _LORA, LAYER),
    _check("lora_forward", "delta = scale x A^T B^T", lora.judge_forward, _LORA, LAYER),
    _check("lora_backward", "dA, dB and the gradient wrt x", lora.judge_backward, _LORA, LAYER),
    _check("lora_update", "one gradient-descent step on A and B", lora.judge_update, _LORA, LAYER),
    _check("merged_delta", "get_merged_delta() = scale B A, (d_out, d_in)", lora.judge_merged_delta, _LORA,
           LAYER + MERGE),
    _check("zero_init", "fresh adapters leave the frozen network's output unchanged", network.judge_zero_init,
           _NET[:1], LAYER),
    _check("adapted_forward", "two adaptation points wired as specified", network.judge_adapted_forward,
           _NET[:1], LAYER),
    _check("exact_backprop", "exact gradients through both adapters", network.judge_exact_backprop, _NET, LAYER),
    _check("train_step", "one epoch is one full-batch gradient step", training.judge_train_step, _TRAIN, LAYER),
    _check("frozen_unchanged", "the frozen weights are byte-identical after training", training.judge_frozen),
    _check("accuracy_task_a", "task A test accuracy close to the reference", training.judge_accuracy("A")),
    _check("merge_equivalence", "the merged network equals the adapted one", merging.judge_merge,
           ("merge_network",), LAYER + MERGE),
    _check("accuracy_task_b", "task B test accuracy close to the reference", training.judge_accuracy("B")),
    _check("no_interference", "training task B leaves task A untouched", training.judge_no_interference),
)}

__all__ = ["CHECKS", "COLLECT_MODULE", "NOT_IMPLEMENTED", "Check", "Outcome", "collect_safely", "evaluate",
           "format_outcome", "judge_safely", "make_inputs", "run_all", "run_check"]


FILL_HINT = "fill in the TODO cells above, run them, then this check"
SHAPES_HINT = "check the shapes your functions return"


def collect_safely(name: str, namespace: dict, inputs: dict) -> dict[str, np.ndarray] | Outcome:
    """Run a check's collect; a missing or stubbed function or an error becomes a failed Outcome."""
    return outcomes.collect_safely(CHECKS, name, namespace, inputs, FILL_HINT)


def judge_safely(name: str, data: dict[str, np.ndarray], inputs: dict) -> Outcome:
    """Run a check's judge on collected data; malformed data gives a failed Outcome, not an exception."""
    return outcomes.judge_safely(CHECKS, name, data, inputs, SHAPES_HINT)


def reference_outcome(name: str, namespace: dict) -> Outcome | None:
    """A failed Outcome if the check's task objects in ``namespace`` are the package's reference, else None."""
    return outcomes.reference_outcome(check_name(CHECKS, name), namespace)


def evaluate(name: str, namespace: dict, seed: int = 0) -> Outcome:
    """collect + judge for one check, without printing (the reference rule first)."""
    return outcomes.evaluate(CHECKS, make_inputs, name, namespace, seed, FILL_HINT, SHAPES_HINT)


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
