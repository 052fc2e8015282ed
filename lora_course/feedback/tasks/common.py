"""Shared machinery of the task checks: the lesson's table and runners, and the student-side helpers.

The Check/Outcome protocol, the comparisons that name mistakes (``same``, ``array``, ``fail``) and the runners
(``collect_safely``, ``judge_safely``, ``evaluate``) are those of every check, in ``lora_course.feedback.outcomes``;
they are re-exported here for the lesson modules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

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
    judge_safely,
    same,
)

__all__ = ["NOT_IMPLEMENTED", "Check", "Mismatch", "Outcome", "array", "check_name", "check_seed", "check_table",
           "collect_safely", "evaluate", "fail", "floats", "format_outcome", "get", "judge_safely", "lesson_runners",
           "parts", "same", "unchanged", "with_references"]


def with_references(checks: dict[str, Check], tasks: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]
                    ) -> dict[str, Check]:
    """``checks`` with each task's (task_names, reference) filled in from ``tasks``."""
    unknown = sorted(set(tasks) - set(checks))
    if unknown:
        raise ValueError(f"tasks: expected names of checks {sorted(checks)}, got {unknown}")
    return {name: replace(c, task_names=tasks[name][0], reference=tasks[name][1]) if name in tasks else c
            for name, c in checks.items()}


# ----------------------------------------------------------------------------- student side (collect)

def get(namespace: dict, name: str):
    """The student's object ``name``; NotImplementedError (reported as "not implemented yet") if undefined."""
    obj = namespace.get(name)
    if obj is None:
        raise NotImplementedError(f"{name} is not defined yet: run its cell")
    return obj


def floats(x) -> np.ndarray:
    """A float copy, so later code cannot change what was collected."""
    return np.array(x, dtype=float)


def parts(result, n: int, name: str) -> tuple:
    """A returned tuple of ``n`` parts, or a TypeError naming the function and what it returned."""
    if not isinstance(result, (tuple, list)) or len(result) != n:
        got = f"a {type(result).__name__}" + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
        raise TypeError(f"{name} should return {n} values, returned {got}")
    return tuple(result)


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
    return with_references({c.name: c for c in checks}, tasks)


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
