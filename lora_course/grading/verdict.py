"""Decide each item's points in the grader's own process, from data the kernel handed back.

Auto items: ``lora_course.feedback.answers.diagnose(value, key, hint, mistakes)`` with the key, hint and known
mistakes from the solution's check cell.
Project items: ``project_checks.judge_safely(name, data, inputs)`` on the grader's inputs.
Project items whose metadata lists a ``reference``: zero, with the reason, when the student's answer
cells use the package's own implementation (``refuse_reference_use``, static analysis of the source).
Manual items get no score here (empty in the CSV): a person grades them from the feedback file.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from lora_course.feedback.answers import CORRECT, MISSING, diagnose
from lora_course.feedback.reference_use import findings_for, static_findings
from lora_course.grading.items import GradedItem
from lora_course.grading.probe import decode_value


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
    status, hint = diagnose(value, item.key, item.hint, dict(item.mistakes))
    if status == CORRECT:
        return ItemResult(item, float(item.points), "correct")
    shown = repr(value) if not hasattr(value, "shape") else f"an array of shape {value.shape}"
    message = "" if status == MISSING else f"{item.target} = {shown[:200]}"
    return ItemResult(item, 0.0, status, message, hint or item.hint)


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
    try:
        outcome = _judge(checks, item.target, data, inputs)
    except Exception as err:  # noqa: BLE001 - data the student's code shaped (10**400, odd dtypes) fails its item
        return ItemResult(item, 0.0, "failed", f"the check could not judge the data ({type(err).__name__})",
                          "return numpy float arrays of the shapes the task names")
    if outcome.passed is True:                # exactly True: nothing the data shaped counts as a pass
        return ItemResult(item, float(item.points), "passed", outcome.message)
    return ItemResult(item, 0.0, "failed", outcome.message, outcome.hint)


def refuse_reference_use(results: list[ItemResult], sources: list[str], origins: list[str],
                         checks: ModuleType | None) -> list[ItemResult]:
    """Zero every project item whose task the student's cells answer with the package's reference.

    ``sources``/``origins`` are the assembled cells in run order (origin ``answer`` or ``added`` is the
    student's). The task's own names come from the checks module's table (all findings count if none).
    """
    flagged = [r for r in results if r.item.kind == "project" and r.item.reference]
    if not flagged:
        return results
    table = getattr(checks, "CHECKS", {}) if checks is not None else {}
    task_names = {n for r in flagged for n in getattr(table.get(r.item.target), "task_names", ())}
    cells = [(src, origin in ("answer", "added")) for src, origin in zip(sources, origins, strict=True)]
    references = sorted({ref for r in flagged for ref in r.item.reference})
    findings = static_findings(cells, references, task_names)
    out = []
    for result in results:
        item = result.item
        names = getattr(table.get(item.target), "task_names", ()) if item.kind == "project" else ()
        concerned = [f for f in findings if _about(f, item.reference)] if item.kind == "project" else []
        reasons = findings_for(concerned, names) if concerned and item.reference else []
        if reasons:
            out.append(ItemResult(item, 0.0, "reference used", "the package's own implementation stands in for "
                                  "your work: " + "; ".join(reasons)[:480],
                                  "write this part yourself; importing, subclassing, wrapping or calling the "
                                  "package's version earns 0"))
        else:
            out.append(result)
    return out


def _about(finding, references: tuple[str, ...]) -> bool:
    """True if a finding concerns one of ``references`` (dynamic look-ups concern every reference)."""
    return "dynamic" in finding.reason or any(ref in finding.reason for ref in references) or \
        finding.reason.startswith(("calls ", "`from "))
