"""Shared machinery of the task checks: the Check/Outcome protocol, comparisons that name mistakes, runners.

The protocol is that of ``lora_course.feedback.project.checks``: ``Check.collect(namespace, inputs)`` runs in the
student's kernel and returns plain float arrays; ``Check.judge(data, inputs)`` recomputes the reference from the
inputs and returns an ``Outcome``. A failed comparison raises ``Mismatch`` inside a judge; ``judge_safely`` turns
it into the failed Outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

NOT_IMPLEMENTED = "not implemented yet"


@dataclass(frozen=True)
class Outcome:
    """A check's verdict: passed, what was found, and what to try if it failed."""

    passed: bool
    message: str
    hint: str = ""


@dataclass(frozen=True)
class Check:
    """One task check: ``collect`` in the student kernel, ``judge`` in the grader."""

    name: str
    description: str
    collect: Callable[[dict, dict], dict[str, np.ndarray]]
    judge: Callable[[dict[str, np.ndarray], dict], Outcome]
    task_names: tuple[str, ...] = ()      # the student's own functions this task checks
    reference: tuple[str, ...] = ()       # package objects that may not stand in for them


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

class Mismatch(Exception):
    """Raised by the comparison helpers; carries the failing Outcome."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


def fail(message: str, hint: str) -> None:
    raise Mismatch(Outcome(False, message, hint))


def array(data: dict, key: str) -> np.ndarray:
    """A collected float array; fails (not raises) on missing, non-numeric or non-finite values."""
    if key not in data:
        fail(f"no value collected for {key!r}", "re-run the cells above, then this check")
    try:
        value = np.asarray(data[key], dtype=float)
    except (TypeError, ValueError):
        fail(f"{key}: expected numbers, got {type(data[key]).__name__}", "return numpy float arrays")
    if not np.all(np.isfinite(value)):
        fail(f"{key}: contains NaN or inf", "look for a division by zero or an overflow")
    return value


def same(name: str, got: np.ndarray, want: np.ndarray, hint: str, atol: float = 1e-8,
         factors: dict[str, float] | None = None, variants: dict[str, np.ndarray] | None = None) -> None:
    """Fail unless ``got`` equals ``want``. Names the mistake when ``got`` is the transpose of ``want``, a known
    multiple of it (``factors``: hint -> factor) or a known wrong result (``variants``: hint -> array)."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got.shape != want.shape:
        if got.shape == want.shape[::-1] and np.allclose(got.T, want, atol=atol):
            fail(f"{name}: shape {got.shape} is the transpose of the expected {want.shape}",
                 f"a transpose is missing or extra: {name} must have shape {want.shape}")
        for text, value in (variants or {}).items():
            if np.shape(value) == got.shape and np.allclose(got, value, atol=atol):
                fail(f"{name}: shape {got.shape}, expected {want.shape}", text)
        fail(f"{name}: expected shape {want.shape}, got {got.shape}", hint)
    if np.allclose(got, want, rtol=1e-7, atol=atol):
        return
    for text, value in (variants or {}).items():
        if np.shape(value) == got.shape and np.allclose(got, value, rtol=1e-7, atol=atol):
            fail(f"{name}: matches a typical mistake", text)
    denom = float(np.sum(want * want))
    if denom > 0:
        factor = float(np.sum(got * want) / denom)
        if not np.isclose(factor, 1.0) and np.allclose(got, factor * want, rtol=1e-6, atol=atol):
            extra = next((text for text, value in (factors or {}).items()
                          if np.isclose(factor, value, rtol=1e-6)), "")
            fail(f"{name}: every entry is {factor:.4g} times the expected value",
                 extra or f"a constant factor is off; {hint}")
    if got.ndim == 2 and got.shape[0] == got.shape[1] and np.allclose(got.T, want, atol=atol):
        fail(f"{name}: equals the transpose of the expected matrix", "check the order of the matrix product")
    fail(f"{name}: differs from the expected values by up to {float(np.max(np.abs(got - want))):.3g}", hint)


def unchanged(name: str, before: np.ndarray, after: np.ndarray, hint: str) -> None:
    """Fail unless ``after`` is byte-identical to ``before`` (a frozen or input array was written to)."""
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if before.shape != after.shape or before.tobytes() != after.tobytes():
        fail(f"your function changed its input {name} in place", hint)


# ------------------------------------------------------------------------------------------- runners

def check_name(checks: dict[str, Check], name: str) -> Check:
    if name not in checks:
        raise KeyError(f"name: expected one of {list(checks)}, got {name!r}")
    return checks[name]


def collect_safely(checks: dict[str, Check], name: str, namespace: dict, inputs: dict) -> dict | Outcome:
    """Run a check's collect; a missing or stubbed function or an error becomes a failed Outcome."""
    check = check_name(checks, name)
    try:
        return check.collect(namespace, inputs)
    except NotImplementedError as err:
        detail = f" ({err})" if str(err) and str(err) != "fill in this part" else ""
        return Outcome(False, NOT_IMPLEMENTED + detail, "fill in the cell above, run it, then this check")
    except Exception as err:  # noqa: BLE001 - the student's code may raise anything; report it, never crash
        return Outcome(False, f"your code raised {type(err).__name__}: {err}",
                       "run the cell with the function on its own to see the traceback")


def judge_safely(checks: dict[str, Check], name: str, data: dict, inputs: dict) -> Outcome:
    """Run a check's judge on collected data; malformed data gives a failed Outcome, not an exception."""
    check = check_name(checks, name)
    try:
        return check.judge(data, inputs)
    except Mismatch as mismatch:
        return mismatch.outcome
    except (ValueError, TypeError, KeyError, IndexError, np.linalg.LinAlgError) as err:
        return Outcome(False, f"the collected values could not be judged ({type(err).__name__}: {err})",
                       "check the shapes your function returns")


def evaluate(checks: dict[str, Check], make_inputs: Callable[[int], dict], name: str, namespace: dict,
             seed: int = 0) -> Outcome:
    """collect + judge for one check, without printing; the package's reference may not stand in (checked first)."""
    check = check_name(checks, name)
    if check.reference:
        from lora_course.feedback.reference_use import dynamic_findings

        findings = dynamic_findings(namespace, check.task_names, check.reference)
        if findings:
            return Outcome(False, "uses the package's own implementation: " + "; ".join(findings[:3]),
                           "write this part yourself; the package's version cannot stand in for your work (it earns 0)")
    inputs = make_inputs(seed)
    data = collect_safely(checks, name, namespace, inputs)
    return data if isinstance(data, Outcome) else judge_safely(checks, name, data, inputs)


def format_outcome(name: str, outcome: Outcome) -> str:
    """'PASS name: message' or 'FAIL name: message' plus a hint line."""
    line = f"{'PASS' if outcome.passed else 'FAIL'} {name}: {outcome.message}"
    return line if outcome.passed or not outcome.hint else f"{line}\n     hint: {outcome.hint}"


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected an integer >= 0, got {seed!r}")
    return int(seed)


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
