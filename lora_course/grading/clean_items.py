"""Implement-it items decided in the clean interpreter (clean_run.py), and the rules applied to what comes back.

- Each project item is judged, in the grader's process, from the data its check collected in the clean
  interpreter, where only the student's answer cells (after the solution's setup) ran.
- The reference rule: a student's task object that tried to reach the package's implementation of that task
  (import, attribute of the package, a setup name that is the reference, the package's files, code rebuilt from
  ``marshal``/``CodeType`` or from hidden text close to the reference) scores 0 with the reason. A task that
  failed after some other refused look-up says so in its message.
- Hooks (trace, profile, audit, ctypes) or a channel that carried what the grader did not ask for: every
  implement-it item of the notebook is ``tampering`` (0), and the notebook is ``error: tampering``.
- Signals for the instructor, never a zero: the static reference scan, and the similarity of each task's answer
  to the reference (similarity.py).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import nbformat

from lora_course.feedback.reference_use import findings_for, static_findings
from lora_course.grading.cell_syntax import ipython_source
from lora_course.grading.clean_run import CleanResult, request_line, run_clean
from lora_course.grading.collect_source import collect_source
from lora_course.grading.items import GradedItem
from lora_course.grading.similarity import FLAG, closest, parts, reference_sources, similarity, task_source
from lora_course.grading.student_view import NOT_AVAILABLE, build_view
from lora_course.grading.verdict import ItemResult

OWN = ("write this part yourself; the package's own implementation does not exist while grading (importing, "
       "subclassing, wrapping, reading or rebuilding it earns 0)")


@dataclass
class CleanOutcome:
    """Per project item (by grade id): the payload; plus the runs' findings and what the notebook row must say."""

    payloads: dict[str, dict] = field(default_factory=dict)
    results: list[CleanResult] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    status: str = "ok"
    cell_names: dict[str, set[str]] = field(default_factory=dict)   # answer cell id -> the names it defines


def run_project_items(solution: nbformat.NotebookNode, items, project: list[GradedItem],
                      modules: dict[str, ModuleType], inputs: dict[str, dict], cells: list[tuple[str, str]],
                      job: Path, sandbox) -> CleanOutcome:
    """One clean interpreter per checks module of the notebook's project items (one per lesson in practice)."""
    out = CleanOutcome(cell_names=cell_names(solution, cells))
    cells = [(cid, ipython_source(source)) for cid, source in cells]
    groups: dict[str, list[GradedItem]] = {}
    for item in project:
        groups.setdefault(modules[item.grade_id].__name__, []).append(item)
    for k, (module_name, group) in enumerate(sorted(groups.items())):
        source, needs = collect_source(module_name)
        view = build_view(solution, items, [s for _, s in cells], list(needs))
        checks = list(dict.fromkeys(i.target for i in group))
        request = request_line(view, cells, source, [(c, next(inputs[i.grade_id] for i in group if i.target == c))
                                                     for c in checks])
        result = run_clean(job / f"clean{k}", sandbox, request, [cid for cid, _ in cells], checks)
        out.results.append(result)
        for item in group:
            if item.target in result.payloads:
                out.payloads[item.grade_id] = result.payloads[item.target]
        if result.tampered or result.hooks:
            out.status = "error"
            shown = result.tampered or ", ".join(result.hooks[:5])
            out.reasons.append(f"tampering: in the clean interpreter ({shown})")
        elif result.problem:
            out.status = "timeout" if result.timed_out else "error"
            out.reasons.append(result.problem)
        elif result.timed_out:
            out.status = "timeout"
            out.reasons.append(f"{len(result.timed_out)} check(s) ran past the per-cell limit in the clean interpreter")
    out.reasons = list(dict.fromkeys(out.reasons))          # one line per cause, not one per interpreter
    return out


def cell_names(solution: nbformat.NotebookNode, cells: list[tuple[str, str]]) -> dict[str, set[str]]:
    """Answer cell id -> the top-level names its solution version and its submitted version define: what a
    statement of that cell that binds nothing itself (``exec(...)``) was there to provide."""
    given = {c.get("id"): c.source for c in solution.cells}
    out: dict[str, set[str]] = {}
    for cid, source in cells:
        names: set[str] = set()
        for text in (given.get(cid, ""), source):
            try:
                tree = ast.parse("\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in text.split("\n")))
            except (SyntaxError, ValueError):
                continue
            for stmt in tree.body:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.add(stmt.name)
                elif isinstance(stmt, ast.Assign):
                    names |= {t.id for t in stmt.targets if isinstance(t, ast.Name)}
        out[cid] = names
    return out


def _relates(target: str, references: tuple[str, ...]) -> bool:
    return any(target == r or r.startswith(target + ".") or target.startswith(r + ".") for r in references)


def concerned(attempt: dict, item: GradedItem, task_names, cells: dict[str, set[str]] | None = None) -> bool:
    """Whether one recorded attempt takes ``item``'s points: it reached for the item's reference, from the task's
    own objects (or, unattributed, while its check ran). Code rebuilt from ``marshal``, ``types.CodeType`` or a
    syntax tree concerns every item with a reference: nothing says what it holds, and no honest answer does it.
    (Text compiled at run time is judged by what it holds: ``_rebuilt_from_text``.)"""
    if not item.reference:
        return False
    if attempt.get("kind") == "rebuild":
        return True
    names = set(attempt.get("names") or ()) or set((cells or {}).get(attempt.get("cell"), ()))
    if attempt.get("kind") == "read":
        return bool(names & set(task_names)) if names else True
    if not _relates(str(attempt.get("target", "")), item.reference):
        return False
    if names:
        return bool(names & set(task_names))
    return attempt.get("check") in (None, item.target)         # unattributed: a cell's statement, or this check


def _rebuilt_from_text(results: list[CleanResult], item: GradedItem, refs: dict[str, str]) -> list[dict]:
    """Text compiled at run time (exec of a hidden string) that is a copy of the item's reference: the item's
    reference then exists in the interpreter, and whether the task's code calls it cannot be told from the names a
    statement bound (a helper, a dict filled now and read later, a wrapper), so it takes the item's points."""
    out = []
    for result in results:
        for entry in result.compiled:
            score, name = max((closest(part, refs) for part in parts(str(entry.get("text", "")))),
                              default=(0.0, ""))
            if score >= FLAG:
                out.append({"kind": "rebuild", "target": f"code compiled at run time, {score:.2f} like {name}",
                            "names": entry.get("names") or [], "cell": entry.get("cell"),
                            "check": entry.get("check")})
    return out


def apply_rules(results: list[ItemResult], outcome: CleanOutcome, tables: dict[str, dict],
                cells: list[tuple[str, str]], sources: list[str], origins: list[str]) -> tuple[list[ItemResult],
                                                                                            list[str]]:
    """The reference and tampering rules on judged results; returns them and the instructor's signal notes.

    An item is "reference used" when an attempt concerns it (see ``concerned``), or when the static scan of the
    answer cells says the task's own names lean on its reference and the clean run saw an attempt at that
    reference (the scan follows aliases such as ``_l = lora_course.layer; LoRA = _l.LoRA``; alone it is a signal).
    """
    attempts = [a for r in outcome.results for a in r.attempts]
    tampered = any(r.tampered or r.hooks for r in outcome.results)
    answer_sources = [s for _, s in cells]
    static = static_reasons(results, tables, sources, origins)
    out, notes, similar = [], [], {}
    for result in results:
        item = result.item
        if item.kind != "project":
            out.append(result)
            continue
        task_names = getattr(tables.get(item.grade_id, {}).get(item.target), "task_names", ())
        refs = reference_sources(item.reference) if item.reference else {}
        hits = [a for a in attempts if concerned(a, item, task_names, outcome.cell_names)] + \
            _rebuilt_from_text(outcome.results, item, refs)
        related = [a for a in attempts if a.get("check") == item.target or a.get("kind") in ("rebuild", "read")
                   or _relates(str(a.get("target", "")), item.reference)] if item.reference else []
        if static.get(item.grade_id) and related:
            hits += [{"target": reason} for reason in static[item.grade_id]]
        if tampered:
            result = ItemResult(item, 0.0, "tampering", "student code hooked or wrote to the clean interpreter's "
                                "channel", "")
        elif hits:
            tried = "; ".join(sorted({str(a.get("target"))[:120] for a in hits}))[:300]
            result = ItemResult(item, 0.0, "reference used", "the package's own implementation stands in for your "
                                f"work: {NOT_AVAILABLE} (tried: {tried})", OWN)
        elif result.score == 0 and related:
            tried = "; ".join(sorted({str(a.get("target"))[:120] for a in related}))[:200]
            result = ItemResult(item, 0.0, result.result, f"{result.message} ({NOT_AVAILABLE}; tried: {tried})"[:600],
                                result.hint or OWN)
        out.append(result)
        if refs:
            score, name = closest(task_source(answer_sources, task_names), refs)
            flag = " FLAGGED: compare by hand" if score >= FLAG else ""
            similar.setdefault(f"{', '.join(task_names) or '?'}: {score:.2f} (closest: {name or '-'}){flag}",
                               []).append(item.grade_id)
        notes += [f"static scan (a signal only), {item.grade_id}: {reason}"[:400]
                  for reason in static.get(item.grade_id, [])]
    notes = [f"similarity to the reference ({', '.join(ids)}), {text}" for text, ids in similar.items()] + notes
    tasks = {n for r in results if r.item.kind == "project"
             for n in getattr(tables.get(r.item.grade_id, {}).get(r.item.target), "task_names", ())}
    errors = {(cid, e) for r in outcome.results for cid, errs in r.cell_errors.items() for e in errs
              if outcome.cell_names.get(cid, set()) & tasks}          # the task cells' errors, not the auto answers
    notes += [f"answer cell {cid}, run alone after the lesson's setup: {e}"[:300] for cid, e in sorted(errors)]
    return out, notes


def static_reasons(results: list[ItemResult], tables: dict[str, dict], sources: list[str],
                   origins: list[str]) -> dict[str, list[str]]:
    """Per item (grade id), the static reference scan's findings on the answer cells' task names."""
    flagged = [r.item for r in results if r.item.kind == "project" and r.item.reference]
    if not flagged:
        return {}
    cells = [(src, origin == "answer") for src, origin in zip(sources, origins, strict=True)]
    names = {n for i in flagged for n in getattr(tables.get(i.grade_id, {}).get(i.target), "task_names", ())}
    findings = static_findings(cells, sorted({r for i in flagged for r in i.reference}), names)
    out = {}
    for item in flagged:
        task_names = getattr(tables.get(item.grade_id, {}).get(item.target), "task_names", ())
        reasons = findings_for([f for f in findings if any(ref in f.reason for ref in item.reference)
                                or "dynamic" in f.reason], task_names)
        if reasons:
            out[item.grade_id] = reasons
    return out


__all__ = ["CleanOutcome", "apply_rules", "concerned", "run_project_items", "similarity", "static_reasons"]
