"""Shared machinery of the task checks: the lesson's table and runners, and the student-side helpers.

The Check/Outcome protocol, the comparisons that name mistakes (``same``, ``array``, ``fail``) and the runners
(``collect_safely``, ``judge_safely``, ``evaluate``) are those of every check, in ``lora_course.feedback.outcomes``;
they are re-exported here for the lesson modules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from lora_course.feedback.calls import (
    SECOND,
    Diagnosis,
    call,
    loops,
    returned_array,
    returned_number,
    returned_tuple,
)
from lora_course.feedback.outcomes import (
    NOT_IMPLEMENTED,
    Check,
    Mismatch,
    Outcome,
    array,
    check_name,
    check_seed,
    collect_safely,
    evaluate,
    fail,
    format_outcome,
    guard,
    in_order,
    judge_safely,
    same,
)

__all__ = ["NOT_IMPLEMENTED", "Check", "Diagnosis", "Mismatch", "Outcome", "array", "call", "check_name",
           "check_seed", "check_table", "collect_safely", "evaluate", "fail", "floats", "format_outcome", "get",
           "in_order", "judge_safely", "lesson_runners", "loops", "out", "parts", "returned_number", "same",
           "unchanged", "with_references", "with_second"]


def with_references(checks: dict[str, Check], tasks: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]
                    ) -> dict[str, Check]:
    """``checks`` with each task's (task_names, reference) filled in from ``tasks``."""
    unknown = sorted(set(tasks) - set(checks))
    if unknown:
        raise ValueError(f"tasks: expected names of checks {sorted(checks)}, got {unknown}")
    return {name: replace(c, task_names=tasks[name][0], reference=tasks[name][1]) if name in tasks else c
            for name, c in checks.items()}


def with_second(first: dict, second: dict, about: str) -> dict:
    """A lesson's inputs: ``first``, plus ``second`` (other sizes and values, described by ``about``) under
    ``second:`` keys; every check runs the student's function on both (``lora_course.feedback.calls.guarded``)."""
    return {**first, **{SECOND + k: v for k, v in second.items()}, SECOND + "about": about}


# ----------------------------------------------------------------------------- student side (collect)

def get(namespace: dict, name: str):
    """The student's object ``name``; NotImplementedError (reported as "not implemented yet") if undefined."""
    if not isinstance(namespace, dict):
        raise TypeError(f"namespace: expected the notebook's globals() (a dict), got {type(namespace).__name__}")
    obj = namespace.get(name)
    if obj is None:
        raise NotImplementedError(f"{name} is not defined yet: run its cell")
    if not callable(obj):
        raise Diagnosis(f"{name} is a {type(obj).__name__}, not a function", f"define it with `def {name}(...)`")
    return obj


def out(value, name: str) -> np.ndarray:
    """A value the student's function returned that must be a numeric numpy array, as a float copy."""
    return returned_array(name, value)


def floats(x) -> np.ndarray:
    """A float copy, so later code cannot change what was collected."""
    return np.array(x, dtype=float)


def parts(result, names: tuple[str, ...], name: str) -> tuple[np.ndarray, ...]:
    """A returned tuple of arrays named ``names`` (in the task's order), each a float copy; a Diagnosis for
    nothing returned, a single value, the wrong number of values, or a part that is no numeric array."""
    values = returned_tuple(name, result, names)
    return tuple(returned_array(f"{name}'s {part}", v) for part, v in zip(names, values, strict=True))


# ---------------------------------------------------------------------------------- grader side (judge)

def unchanged(name: str, before: np.ndarray, after: np.ndarray, hint: str) -> None:
    """Fail unless ``after`` is byte-identical to ``before`` (a frozen or input array was written to)."""
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if before.shape != after.shape or before.tobytes() != after.tobytes():
        fail(f"your function changed its input {name} in place", hint)


# ------------------------------------------------------------------------------------- a lesson's table

def check_table(checks: tuple[Check, ...], tasks: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]
                ) -> dict[str, Check]:
    """A lesson's ``CHECKS``: ``checks`` by name, with each task's (task_names, reference) from ``tasks``
    (the student's own functions of each task, and the package objects that may not stand in for them)."""
    return {name: guard(c) for name, c in with_references({c.name: c for c in checks}, tasks).items()}


def lesson_runners(checks: dict[str, Check], make_inputs: Callable[[int], dict]
                   ) -> tuple[Callable[[str, dict, dict], Outcome], Callable[..., Outcome]]:
    """A lesson module's ``judge_safely(name, data, inputs)`` and ``run_check(name, namespace, seed=0)``."""

    def lesson_judge_safely(name: str, data: dict, inputs: dict) -> Outcome:
        """Judge collected data (in the grader's process); never raises on bad data."""
        return judge_safely(checks, name, data, inputs)

    def run_check(name: str, namespace: dict, seed: int = 0) -> Outcome:
        """Run one check on the student's ``namespace`` (pass ``globals()``), print PASS/FAIL, return the Outcome."""
        outcome = evaluate(checks, make_inputs, name, namespace, seed)
        print(format_outcome(name, outcome))
        return outcome

    lesson_judge_safely.__name__ = lesson_judge_safely.__qualname__ = "judge_safely"
    return lesson_judge_safely, run_check
