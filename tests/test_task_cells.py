"""Appendix 06 finds a student's lesson-02/04 functions by the task cell's id, today's or a former one.

``lora_course.torch_bridge.task_cells`` needs no torch, so this runs in the numpy suite; the appendix's
own tests (tests/torch/) run the same lookup on the functions it then compares with PEFT.
"""

from __future__ import annotations

import nbformat
from former_ids import ROOT, former_map, with_former_ids

from lora_course.torch_bridge.task_cells import TASKS, aliases, defines, find_task_cell, former_ids


def _scratch(name: str) -> nbformat.NotebookNode:
    """A cell a student added above the task: it defines the same function, wrongly."""
    return nbformat.v4.new_code_cell(f"def {name}(*args):\n    return 'scratch'\n", id="my-scratch-cell")


def test_the_task_cell_is_found_under_its_former_id_before_a_scratch_cell_that_defines_the_same_name():
    for lesson, tasks in TASKS.items():
        former = former_map(lesson)
        nb, renamed = with_former_ids(nbformat.read(ROOT / "notebooks" / lesson, as_version=4), former)
        assert renamed >= len(tasks), f"{lesson}: expected the task cells to have former ids"
        for name, cell_id in tasks.items():
            old = aliases(cell_id, former)[1]
            cells = [_scratch(name), *nb.cells]
            found = find_task_cell(cells, name, cell_id, former)
            assert found is not None and found["id"] == old, (lesson, name, found and found["id"])
            assert "scratch" not in found["source"]
            without = find_task_cell(cells, name, cell_id, {})
            assert without["id"] == "my-scratch-cell", "without the alias map only the first def is left"


def test_todays_id_wins_and_a_replaced_cell_is_found_by_its_def():
    for lesson, tasks in TASKS.items():
        cells = nbformat.read(ROOT / "notebooks" / lesson, as_version=4).cells
        for name, cell_id in tasks.items():
            assert find_task_cell([_scratch(name), *cells], name, cell_id, former_map(lesson))["id"] == cell_id
            retyped = [c for c in cells if c.get("id") != cell_id] + [nbformat.v4.new_code_cell(
                f"import numpy as np\n\ndef {name}(*args):\n    raise NotImplementedError\n", id="retyped")]
            assert find_task_cell(retyped, name, cell_id, former_map(lesson))["id"] == "retyped"
            assert find_task_cell([c for c in cells if c.get("id") != cell_id], name, cell_id, {}) is None


def test_the_alias_map_comes_from_the_solution_and_names_cells_that_exist():
    for lesson, tasks in TASKS.items():
        former = former_ids(ROOT / "solutions" / lesson)
        ids = {c["id"] for c in nbformat.read(ROOT / "solutions" / lesson, as_version=4).cells}
        assert former and set(former.values()) <= ids, lesson
        assert all(len(aliases(cell_id, former)) >= 2 for cell_id in tasks.values()), lesson
    assert former_ids(ROOT / "no-such.ipynb") == {}


def test_defines_looks_at_top_level_functions_only():
    assert defines("def f(x):\n    return x\n", "f")
    assert not defines("class C:\n    def f(self):\n        pass\n", "f")
    assert not defines("def f(:\n", "f") and not defines("f = lambda x: x\n", "f")
