"""Graded items, read from a solution notebook's cell metadata (points live there, not in code).

A code cell with ``{"lora_course": {"grade_id", "points", "kind": "auto", "answer": "<name>"}}`` is an
auto-checked answer: its key and hint are the arguments of the ``check(<name>, "lc1:...", hint=...)``
call in that cell, and its known mistakes the ``mistakes={mistake_key: hint}`` dict literal of that call.
``kind: "project"`` names a ``CHECKS`` entry in ``check``, of the module named by ``checks_module``
(default ``lora_course.feedback.project.checks``); an optional ``reference`` list names the package objects the
task must not use (dotted names, e.g. ``lora_course.layer.LoRA``).
``kind: "manual"`` marks a Markdown answer whose model answer sits between the solution markers.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import nbformat

from lora_course.authoring.student import BEGIN, END

KINDS = ("auto", "project", "manual")


class ItemError(ValueError):
    """A solution notebook's grading metadata is incomplete or inconsistent."""


@dataclass(frozen=True)
class GradedItem:
    """One gradable item. ``target`` is the answer variable (auto), the check name (project) or ''."""

    notebook: str
    grade_id: str
    points: float
    kind: str
    cell_id: str
    target: str = ""
    key: str = ""
    hint: str = ""
    model_answer: str = ""
    checks_module: str = ""        # project items: the module holding CHECKS ('' = the grader's default)
    mistakes: tuple[tuple[str, str], ...] = ()     # (mistake key, hint) of an auto item's known mistakes
    reference: tuple[str, ...] = ()                # package objects a project item's task must not use


def between_markers(source: str) -> str:
    """The text between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (all blocks, joined)."""
    inside, kept = False, []
    for line in source.split("\n"):
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        elif inside:
            kept.append(line)
    return "\n".join(kept).strip()


def answer_cell_ids(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Ids of the cells whose content the student writes (they hold ``### BEGIN SOLUTION``) -> cell type."""
    return {cell["id"]: cell["cell_type"] for cell in nb.cells
            if any(line.strip() == BEGIN for line in cell.get("source", "").split("\n"))}


def former_cell_ids(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Earlier ids of the solution's cells -> today's (``metadata.lora_course.former_cell_ids``), so that a
    notebook handed out before a cell was renamed still grades."""
    former = nb.metadata.get("lora_course", {}).get("former_cell_ids", {})
    if not isinstance(former, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in former.items()):
        raise ItemError(f"metadata.lora_course.former_cell_ids: expected a dict of old id -> new id, got {former!r}")
    return dict(former)


def _mistakes(node: ast.AST | None, answer: str, where: str) -> tuple[tuple[str, str], ...]:
    """The ``mistakes={key: hint, ...}`` literal of a check call, as (key, hint) pairs."""
    if node is None:
        return ()
    if not isinstance(node, ast.Dict) or not all(
            isinstance(n, ast.Constant) and isinstance(n.value, str) for n in (*node.keys, *node.values)):
        raise ItemError(f"{where}: check({answer}, ..., mistakes=...) must be a dict literal of strings")
    return tuple((k.value, v.value) for k, v in zip(node.keys, node.values, strict=True))


def _check_call(source: str, answer: str, where: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """(key, hint, mistakes) of the ``check(answer, key, hint=..., mistakes={...})`` call in a cell."""
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise ItemError(f"{where}: the check cell does not parse ({err.msg}, line {err.lineno})") from None
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "check"):
            continue
        if not node.args or not isinstance(node.args[0], ast.Name) or node.args[0].id != answer:
            continue
        key = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "key"), None)
        hint = next((k.value for k in node.keywords if k.arg == "hint"), None)
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            raise ItemError(f"{where}: check({answer}, ...) must give its key as a string literal")
        hint_text = hint.value if isinstance(hint, ast.Constant) and isinstance(hint.value, str) else ""
        mistakes = _mistakes(next((k.value for k in node.keywords if k.arg == "mistakes"), None), answer, where)
        return key.value, hint_text, mistakes
    raise ItemError(f"{where}: expected a call check({answer}, 'lc1:...') in the cell, found none")


def items_from_solution(nb: nbformat.NotebookNode, notebook: str) -> list[GradedItem]:
    """Every graded item of a solution notebook, in cell order. Raises ItemError on bad metadata."""
    items: list[GradedItem] = []
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("lora_course")
        if not isinstance(meta, dict) or "grade_id" not in meta:
            continue
        where = f"{notebook}, cell {index} (id {cell.get('id', '?')})"
        kind, grade_id, points = meta.get("kind"), str(meta["grade_id"]), meta.get("points")
        if kind not in KINDS:
            raise ItemError(f"{where}: kind: expected one of {KINDS}, got {kind!r}")
        if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
            raise ItemError(f"{where}: points: expected a number >= 0, got {points!r}")
        if any(item.grade_id == grade_id for item in items):
            raise ItemError(f"{where}: grade_id {grade_id!r} is used twice")
        common = {"notebook": notebook, "grade_id": grade_id, "points": points, "kind": kind, "cell_id": cell["id"]}
        if kind == "auto":
            answer = meta.get("answer")
            if not isinstance(answer, str) or not answer.isidentifier():
                raise ItemError(f"{where}: answer: expected the answer variable's name, got {answer!r}")
            key, hint, mistakes = _check_call(cell.source, answer, where)
            items.append(GradedItem(**common, target=answer, key=key, hint=hint, mistakes=mistakes))
        elif kind == "project":
            name = meta.get("check")
            if not isinstance(name, str) or not name:
                raise ItemError(f"{where}: check: expected a project_checks.CHECKS name, got {name!r}")
            module = meta.get("checks_module", "")
            if not isinstance(module, str) or (module and not (
                    module.startswith("lora_course.") and all(part.isidentifier() for part in module.split(".")))):
                raise ItemError(f"{where}: checks_module: expected a module of lora_course such as "
                                f"'lora_course.feedback.tasks.lesson02', got {module!r}")
            reference = meta.get("reference", [])
            if not isinstance(reference, list) or not all(isinstance(r, str) and r.startswith("lora_course.")
                                                          for r in reference):
                raise ItemError(f"{where}: reference: expected a list of dotted names under lora_course, "
                                f"got {reference!r}")
            items.append(GradedItem(**common, target=name, checks_module=module, reference=tuple(reference)))
        else:
            if cell.cell_type != "markdown":
                raise ItemError(f"{where}: a manual item must be a Markdown cell, got a {cell.cell_type} cell")
            items.append(GradedItem(**common, model_answer=between_markers(cell.source)))
    return items
