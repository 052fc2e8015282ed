"""Which cell of a student's lesson notebook holds a task's function, whatever id course version it carries.

Torch-free (appendix 06's ``student_code`` uses it; the numpy suite tests it). Cell ids are grading keys, and
a cell keeps the id it had when the student copied the lesson; when the course renames a cell, the
solution notebook records the earlier id in ``metadata.lora_course.former_cell_ids`` (old id -> new id).
A task's function is looked for in the cell with today's id, then in a cell with one of its earlier ids,
then in the first code cell that defines it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat

# notebook -> {function: the id of the cell it is written in}
TASKS = {
    "02_reparameterization.ipynb": {"init_lora_factors": "l02-init-task",
                                    "lora_layer_forward": "l02-forward-task",
                                    "lora_layer_backward": "l02-backward-task"},
    "04_merging_and_deployment.ipynb": {"merge_weight": "l04-merge-task"},
}


def defines(source: str, name: str) -> bool:
    """Whether ``source`` defines a function ``name`` at its top level (False if it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(isinstance(node, ast.FunctionDef) and node.name == name for node in tree.body)


def aliases(cell_id: str, former: dict[str, str]) -> list[str]:
    """``cell_id`` and every earlier id that ``former`` (old id -> new id) maps onto it."""
    return [cell_id, *sorted(old for old, new in former.items() if new == cell_id)]


def find_task_cell(cells: list, name: str, cell_id: str, former: dict[str, str] | None = None) -> dict | None:
    """The code cell that defines ``name``: the one with id ``cell_id`` or an earlier id of it, else the
    first code cell that defines it, else None."""
    code = [c for c in cells if c.get("cell_type") == "code"]
    for wanted in aliases(cell_id, former or {}):
        match = next((c for c in code if c.get("id") == wanted), None)
        if match is not None and defines(match["source"], name):
            return match
    return next((c for c in code if defines(c["source"], name)), None)


def former_ids(solution: Path) -> dict[str, str]:
    """The solution notebook's ``former_cell_ids`` (old id -> new id); {} when it has none or is unreadable."""
    try:
        former = nbformat.read(solution, as_version=4).metadata.get("lora_course", {}).get("former_cell_ids", {})
    except (OSError, ValueError):
        return {}
    if not isinstance(former, dict):
        return {}
    return {k: v for k, v in former.items() if isinstance(k, str) and isinstance(v, str)}
