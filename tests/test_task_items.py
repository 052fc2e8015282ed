"""The task check cells of lessons 01-04 and 07 are graded items with metadata the grader and the reference
detection use."""

from __future__ import annotations

import importlib
from pathlib import Path

import nbformat
import pytest

from lora_course.grading.items import ItemError, items_from_solution

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted(p.name for p in (ROOT / "solutions").glob("0[1-47]_*.ipynb"))


def _resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("notebook", LESSONS)
def test_each_lesson_has_graded_tasks_naming_real_checks_and_references(notebook):
    nb = nbformat.read(ROOT / "solutions" / notebook, as_version=4)
    tasks = [c for c in nb.cells if c.metadata.get("lora_course", {}).get("checks_module")]
    assert len(tasks) >= 2, f"{notebook}: at least two implement-it tasks"
    by_id = {i.cell_id: i for i in items_from_solution(nb, notebook)}
    for cell in tasks:
        meta, item = cell.metadata["lora_course"], by_id[cell.id]
        module = importlib.import_module(meta["checks_module"])
        assert item.kind == "project" and item.checks_module == meta["checks_module"]
        assert item.target in module.CHECKS and f'run_check("{item.target}"' in cell.source
        assert item.grade_id.startswith(notebook[:2] + "-task-")
        assert meta["reference"] and all(callable(_resolve(path)) for path in meta["reference"])


def test_a_bad_checks_module_stops_the_grader():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("pass")
    cell.metadata["lora_course"] = {"grade_id": "x-task", "points": 1, "kind": "project", "check": "forward",
                                    "checks_module": "os.path"}
    nb.cells = [cell]
    with pytest.raises(ItemError, match="checks_module"):
        items_from_solution(nb, "x.ipynb")


@pytest.mark.parametrize("notebook", sorted(p.name for p in (ROOT / "solutions").glob("0*.ipynb")))
def test_the_solutions_stored_check_outputs_all_pass(notebook):
    """A check that fails on the instructor's own solution is a broken check, whatever nbval compares: every
    task or stage check cell of a solution stores a PASS and no FAIL (outputs are what a fresh run prints)."""
    nb = nbformat.read(ROOT / "solutions" / notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or "run_check(" not in cell.source and "run_all(" not in cell.source:
            continue
        text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
        assert "FAIL" not in text, (notebook, cell.id, text[:500])
