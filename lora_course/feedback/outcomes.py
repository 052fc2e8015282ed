"""What every check shares (the implement-it task checks and lesson 05's stage checks): the records and the runners.

``Check.collect(namespace, inputs)`` runs in the student's kernel and returns plain float arrays;
``Check.judge(data, inputs)`` recomputes the reference from the inputs and returns an ``Outcome``. A failed
comparison raises ``Mismatch`` inside a judge (``fail``, ``array``, ``same``); ``judge_safely`` turns it into the
failed Outcome. The runners take the table of checks by name, so each checks module keeps its own entry points.
(``lora_course.feedback.project.collect`` is sent on its own into the kernel and does not import this module.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from lora_course.feedback.calls import (
    DIAGNOSIS,
    DIAGNOSIS_HINT,
    GLOBALS_READ,
    SECOND,
    SECOND_HINT,
    TIME_LIMIT_S,
    Diagnosis,
    guarded,
    raised,
    second_inputs,
)
from lora_course.validation import check_int

NOT_IMPLEMENTED = "not implemented yet"
FILL_HINT = "fill in the cell above, run it, then this check"
SHAPES_HINT = "check the shapes your function returns"


@dataclass(frozen=True)
class Outcome:
    """A check's verdict: passed, what was found, and what to try if it failed."""

    passed: bool
    message: str
    hint: str = ""


@dataclass(frozen=True)
class Check:
    """One check: ``collect`` in the student kernel, ``judge`` in the grader.

    ``task_names`` are the student's objects the check calls; ``reference`` the package objects
    (dotted names) that must not stand in for them (see ``lora_course.feedback.reference_use``);
    ``time_limit`` the CPU seconds its collect may use (``lora_course.feedback.calls.guarded``).
    """

    name: str
    description: str
    collect: Callable[[dict, dict], dict[str, np.ndarray]]
    judge: Callable[[dict[str, np.ndarray], dict], Outcome]
    task_names: tuple[str, ...] = ()
    reference: tuple[str, ...] = ()
    time_limit: float | None = TIME_LIMIT_S


class Stopped(KeyboardInterrupt):
    """The stop button pressed during a check: IPython shows ``_render_traceback_``'s one line, no traceback."""

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


def guard(check: Check) -> Check:
    """``check`` whose collect runs under its time limit and hands back every Diagnosis as data (idempotent)."""
    if hasattr(check.collect, "__wrapped__"):
        return check
    return replace(check, collect=guarded(check.collect, check.time_limit))


def check_seed(seed) -> int:
    return check_int("seed", seed, 0)


# ---------------------------------------------------------------------------------- grader side (judge)

class Mismatch(Exception):
    """Raised by the comparison helpers; carries the failing Outcome."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


def fail(message: str, hint: str) -> None:
    raise Mismatch(Outcome(False, message, hint))


def array(data: dict, key: str, nan_hint: str = "look for a division by zero or an overflow") -> np.ndarray:
    """A collected float array; fails (not raises) on missing, non-numeric or non-finite values."""
    if key not in data:
        fail(f"no value collected for {key!r}", "re-run the cells above, then this check")
    try:
        value = np.asarray(data[key], dtype=float)
    except (TypeError, ValueError):
        fail(f"{key}: expected numbers, got {type(data[key]).__name__}", "return numpy float arrays")
    if not np.all(np.isfinite(value)):
        fail(f"{key}: contains NaN or inf", nan_hint)
    return value


def same(name: str, got: np.ndarray, want: np.ndarray, hint: str, atol: float = 1e-8,
         factors: dict[str, float] | None = None, variants: dict[str, np.ndarray] | None = None, *,
         transposed: tuple[str, str] = ("", "a transpose is missing or extra: {name} must have shape {shape}"),
         expected: str = "the expected values") -> None:
    """Fail unless ``got`` equals ``want``. Names the mistake when ``got`` is the transpose of ``want``, a known
    multiple of it (``factors``: hint -> factor) or a known wrong result (``variants``: hint -> array).

    ``transposed`` is (what the message adds, the hint with ``{name}`` and ``{shape}``) for a transposed shape;
    ``expected`` how the last message names the reference.
    """
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got.shape != want.shape:
        if got.shape == want.shape[::-1] and np.allclose(got.T, want, atol=atol):
            fail(f"{name}: shape {got.shape} is the transpose of the expected {want.shape}{transposed[0]}",
                 transposed[1].format(name=name, shape=want.shape))
        for text, value in (variants or {}).items():
            if np.shape(value) == got.shape and np.allclose(got, value, atol=atol):
                fail(f"{name}: shape {got.shape}, expected {want.shape}", text)
        fail(f"{name}: expected shape {want.shape}, got {got.shape}", hint)
    if np.allclose(got, want, rtol=1e-7, atol=atol):
        return
    for text, value in (variants or {}).items():
        if np.shape(value) == got.shape and np.allclose(got, value, rtol=1e-7, atol=atol):
            fail(f"{name}: matches a typical mistake", text)
    if np.all(got == 0):
        fail(f"{name}: every entry is 0", f"nothing reached the result; {hint}")
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
    fail(f"{name}: differs from {expected} by up to {float(np.max(np.abs(got - want))):.3g}", hint)


def in_order(fn: str, got: dict[str, np.ndarray], want: dict[str, np.ndarray], atol: float = 1e-8) -> None:
    """Fail, naming the order, when the returned values (``got``, by the task's names in its order) are the
    expected ones (``want``) in another order: ``return Q, V, K`` for ``return Q, K, V``."""
    from itertools import permutations

    names = list(want)
    for order in permutations(names):
        if list(order) == names:
            continue
        if all(np.shape(got[slot]) == np.shape(want[name]) and np.allclose(got[slot], want[name], atol=atol)
               for slot, name in zip(names, order, strict=True)):
            fail(f"{fn} returns the right values in the order ({', '.join(order)})",
                 f"return them in the order ({', '.join(names)})")


def normal_draws(A: np.ndarray, std_want: float, hint: str) -> None:
    """Fail unless ``A``'s entries pass for draws of N(0, std_want^2): std within 15 %, mean within 4 standard
    errors of 0 (wide enough that a right initialisation never fails, on any seed)."""
    std, mean = float(A.std()), float(A.mean())
    if abs(std / std_want - 1) > 0.15 or abs(mean) > 4 * std_want / np.sqrt(A.size):
        fail(f"A's entries have mean {mean:.3g} and std {std:.3g}; expected mean 0 and std {std_want}", hint)

# ------------------------------------------------------------------------------------------- runners

def check_name(checks: dict[str, Check], name: str) -> Check:
    if not isinstance(name, str) or name not in checks:
        raise KeyError(f"name: expected one of {list(checks)}, got {name!r:.60}")
    return checks[name]


def collect_safely(checks: dict[str, Check], name: str, namespace: dict, inputs: dict,
                   fill_hint: str = FILL_HINT) -> dict | Outcome:
    """Run a check's collect; a missing or stubbed function or an error becomes a failed Outcome."""
    check = check_name(checks, name)
    try:
        return check.collect(namespace, inputs)
    except Diagnosis as found:
        return Outcome(False, found.message, found.hint)
    except NotImplementedError as err:
        detail = f" ({err})" if str(err) and str(err) != "fill in this part" else ""
        return Outcome(False, NOT_IMPLEMENTED + detail, fill_hint)
    except Exception as err:  # noqa: BLE001 - the student's code may raise anything; report it, never crash
        found = raised(name, err)
        return Outcome(False, found.message, found.hint)


def judge_safely(checks: dict[str, Check], name: str, data: dict, inputs: dict,
                 shapes_hint: str = SHAPES_HINT) -> Outcome:
    """Run a check's judge on collected data; malformed data gives a failed Outcome, not an exception."""
    check = check_name(checks, name)
    if not isinstance(data, dict):
        return Outcome(False, f"the check collected a {type(data).__name__}, not a dict of values", shapes_hint)
    outcome = _judged_twice(check, data, inputs, shapes_hint)
    reads = str(data.get(GLOBALS_READ, "") or "")
    if outcome.passed or not reads:
        return outcome
    return Outcome(False, f"{outcome.message} (note: {reads} instead of an argument)",
                   "use only the function's arguments: a notebook variable holds other values than the check "
                   f"passes in; {outcome.hint}")


def _judged_twice(check: Check, data: dict, inputs: dict, shapes_hint: str) -> Outcome:
    """The check's judge on the first input's data, then (if it passes) on the second input's."""
    if DIAGNOSIS in data:
        return Outcome(False, str(data[DIAGNOSIS]), str(data.get(DIAGNOSIS_HINT, "")))
    first = {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith(SECOND))}
    outcome = _judged(check, first, inputs, shapes_hint)
    second = second_inputs(inputs)
    if not outcome.passed or second is None:
        return outcome
    again = _judged(check, {k[len(SECOND):]: v for k, v in data.items() if isinstance(k, str)
                            and k.startswith(SECOND)}, second, shapes_hint)
    if again.passed:
        return outcome
    return Outcome(False, f"right on the check's first input, but not on its second input "
                          f"({second.get('about', 'of other sizes')}): {again.message}",
                   f"{again.hint}; {SECOND_HINT}" if "typical mistake" in again.message
                   else f"{SECOND_HINT}; {again.hint}" if again.hint else SECOND_HINT)


def _judged(check: Check, data: dict, inputs: dict, shapes_hint: str) -> Outcome:
    try:
        return check.judge(data, inputs)
    except Mismatch as mismatch:
        return mismatch.outcome
    except (ValueError, TypeError, KeyError, IndexError, np.linalg.LinAlgError) as err:
        return Outcome(False, f"the collected values could not be judged ({type(err).__name__}: {err})",
                       shapes_hint)


def reference_outcome(check: Check, namespace: dict) -> Outcome | None:
    """A failed Outcome if the check's task objects in ``namespace`` are the package's reference, else None."""
    if not check.reference:
        return None
    from lora_course.feedback.reference_use import dynamic_findings

    findings = dynamic_findings(namespace, check.task_names, check.reference)
    if not findings:
        return None
    return Outcome(False, "uses the package's own implementation: " + "; ".join(findings[:3]),
                   "write this part yourself; the package's version cannot stand in for your work (it earns 0)")


def evaluate(checks: dict[str, Check], make_inputs: Callable[[int], dict], name: str, namespace: dict,
             seed: int = 0, fill_hint: str = FILL_HINT, shapes_hint: str = SHAPES_HINT) -> Outcome:
    """collect + judge for one check, without printing; the package's reference may not stand in (checked first)."""
    if not isinstance(namespace, dict):
        raise TypeError(f"namespace: expected the notebook's globals() (a dict), got {type(namespace).__name__}")
    refused = reference_outcome(check_name(checks, name), namespace)
    if refused is not None:
        return refused
    inputs = make_inputs(seed)
    try:
        data = collect_safely(checks, name, namespace, inputs, fill_hint)
    except KeyboardInterrupt:
        raise Stopped(f"stopped: the check {name!r} was interrupted (run it again once your function returns)") \
            from None
    return data if isinstance(data, Outcome) else judge_safely(checks, name, data, inputs, shapes_hint)


def format_outcome(name: str, outcome: Outcome) -> str:
    """'PASS name: message' or 'FAIL name: message' plus a hint line."""
    line = f"{'PASS' if outcome.passed else 'FAIL'} {name}: {outcome.message}"
    return line if outcome.passed or not outcome.hint else f"{line}\n     hint: {outcome.hint}"
