"""Decide each item's points in the grader's own process, from data the kernel handed back.

Auto items: ``lora_course.checks.evaluate(value, key)`` with the key from the solution's check cell.
Project items: ``project_checks.judge_safely(name, data, inputs)`` on the grader's inputs.
Manual items get no score here (empty in the CSV): a person grades them from the feedback file.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from ..checks import CORRECT, MISSING, evaluate
from .items import GradedItem
from .probe import decode_value


@dataclass(frozen=True)
class ItemResult:
    """An item's outcome: ``score`` is None for manual items; ``result`` is a short word for the feedback."""

    item: GradedItem
    score: float | None
    result: str
    message: str = ""
    hint: str = ""


def zero(item: GradedItem, why: str) -> ItemResult:
    """No points for an item whose data never arrived (timeout, crash, malformed or missing notebook)."""
    if item.kind == "manual":
        return ItemResult(item, None, "to grade by hand", why)
    return ItemResult(item, 0.0, "not graded", why)


def judge_auto(item: GradedItem, values: dict | None) -> ItemResult:
    """Compare the answer variable's value (JSON from the kernel) with the item's key."""
    if values is None:
        return zero(item, "the answers could not be collected")
    raw = values.get(item.target, {"__missing__": True})
    if isinstance(raw, dict) and raw.get("__missing__") is True:
        return ItemResult(item, 0.0, "not answered", f"{item.target} is not defined", item.hint)
    try:
        value = decode_value(raw)
    except ValueError as err:
        return ItemResult(item, 0.0, "invalid", f"{item.target}: {err}", item.hint)
    status = evaluate(value, item.key)
    if status == CORRECT:
        return ItemResult(item, float(item.points), "correct")
    shown = repr(value) if not hasattr(value, "shape") else f"an array of shape {value.shape}"
    message = "" if status == MISSING else f"{item.target} = {shown[:200]}"
    return ItemResult(item, 0.0, status, message, item.hint)


def _judge(checks: ModuleType, name: str, data: dict, inputs: dict):
    """``checks.judge_safely`` where the module has it, else ``CHECKS[name].judge`` (any checks module)."""
    if hasattr(checks, "judge_safely"):
        return checks.judge_safely(name, data, inputs)
    try:
        return checks.CHECKS[name].judge(data, inputs)
    except Exception as err:  # noqa: BLE001 - a check that breaks on odd data fails that item only
        from types import SimpleNamespace
        return SimpleNamespace(passed=False, message=f"the check could not judge the data ({type(err).__name__})",
                               hint="")


def judge_project(item: GradedItem, payload: dict | None, inputs: dict, checks: ModuleType) -> ItemResult:
    """Judge one project check from the arrays its ``collect`` returned in the kernel."""
    if payload is None:
        return zero(item, "the check's data could not be collected")
    if "error" in payload:
        return ItemResult(item, 0.0, "failed", str(payload["error"])[:500],
                          "fill in the functions this check calls and run their cells")
    raw = payload.get("data")
    if not isinstance(raw, dict):
        return ItemResult(item, 0.0, "failed", "the check handed back no data")
    try:
        data = {str(k): decode_value(v) for k, v in raw.items()}
    except (ValueError, TypeError) as err:
        return ItemResult(item, 0.0, "failed", f"unreadable data: {err}")
    outcome = _judge(checks, item.target, data, inputs)
    if outcome.passed:
        return ItemResult(item, float(item.points), "passed", outcome.message)
    return ItemResult(item, 0.0, "failed", outcome.message, outcome.hint)
