"""Appendix 06's check of the student's own lesson-02/04 code against torch and PEFT (pytest --torch only)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
pytest.importorskip("torch")
pytest.importorskip("peft")

from lora_course.torch_bridge.student_code import TASKS, load_student_code, student_agreement  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ALL_ROWS = 11   # forward + 3 grads, twice (hand-written, PEFT); init at step 0; merge twice


def copy_lessons(tmp_path: Path, folder: str = "solutions") -> Path:
    for name in TASKS:
        shutil.copy(ROOT / folder / name, tmp_path / name)
    return tmp_path


def edit_cell(path: Path, cell_id: str, old: str, new: str) -> None:
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.id == cell_id)
    assert old in cell.source
    cell.source = cell.source.replace(old, new)
    nbformat.write(nb, path)


def test_the_solutions_agree_with_torch_and_peft_everywhere():
    code = load_student_code(ROOT / "solutions")
    rows = student_agreement(code, seed=3)
    assert code.problems == []
    assert len(rows) == ALL_ROWS and all(row.agrees and row.max_abs < 1e-10 for row in rows), rows


def test_the_untouched_student_versions_are_listed_as_not_written():
    code = load_student_code(ROOT / "notebooks")
    assert student_agreement(code) == []
    text = "\n".join(code.problems)
    for name in ("lora_layer_forward", "init_lora_factors", "merge_weight"):
        assert f"{name}: not written yet" in text, text
    assert "lora_layer_backward: not compared" in text


def test_a_wrong_scale_and_a_wrong_gradient_are_caught(tmp_path):
    folder = copy_lessons(tmp_path)
    edit_cell(folder / "02_reparameterization.ipynb", "l02-forward-task", "s = alpha / r ", "s = alpha ")
    rows = {row.quantity: row for row in student_agreement(load_student_code(folder))}
    assert not rows["your lora_layer_forward vs PEFT: H"].agrees
    assert rows["your merge_weight vs PEFT merge_and_unload: W"].agrees   # lesson 04 is still right

    (tmp_path / "grad").mkdir()
    folder = copy_lessons(tmp_path / "grad")
    edit_cell(folder / "02_reparameterization.ipynb", "l02-backward-task", "dA = dZ.T @ X", "dA = 2 * dZ.T @ X")
    rows = {row.quantity: row for row in student_agreement(load_student_code(folder))}
    assert not rows["your lora_layer_backward vs hand-written torch autograd: dA"].agrees
    assert rows["your lora_layer_backward vs hand-written torch autograd: dB"].agrees


def test_a_replaced_cell_is_found_by_its_def_and_broken_cells_are_reported(tmp_path):
    folder = copy_lessons(tmp_path)
    path = folder / "02_reparameterization.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.id == "l02-forward-task":
            cell.id = "my-own-cell"                      # the student rebuilt the cell
        if cell.id == "l02-init-task":
            cell.source = "def init_lora_factors(d, k, r, std, rng):\n    return (1, 2, 3)\n"
        if cell.id == "l02-backward-task":
            cell.source = "def lora_layer_backward(G, cache:\n"    # a syntax error
    nbformat.write(nb, path)
    code = load_student_code(folder)
    rows = student_agreement(code)
    assert "lora_layer_forward" in code.functions
    text = "\n".join(code.problems)
    assert "init_lora_factors: expected the pair (A, B), got tuple" in text
    assert "lora_layer_backward: no code cell" in text      # a cell that does not parse defines nothing
    assert {row.quantity for row in rows} >= {"your lora_layer_forward vs PEFT: H"}


def test_missing_and_unreadable_notebooks_are_named(tmp_path):
    (tmp_path / "04_merging_and_deployment.ipynb").write_text("not json")
    code = load_student_code(tmp_path)
    assert student_agreement(code) == []
    assert code.problems[0].startswith("no 02_reparameterization.ipynb beside this notebook")
    assert code.problems[1] == "04_merging_and_deployment.ipynb could not be read as a notebook (NotJSONError)"


def test_a_copy_with_the_former_cell_ids_loads_the_task_cells_not_a_scratch_cell_above_them(tmp_path, monkeypatch):
    """A student's copy from before the cells were renamed: every task cell carries its former id, and a
    scratch cell above each defines the same function wrongly; the task cells are the ones compared."""
    monkeypatch.syspath_prepend(str(ROOT / "tests"))
    from former_ids import former_map, with_former_ids

    folder = copy_lessons(tmp_path)
    for lesson, tasks in TASKS.items():
        nb, renamed = with_former_ids(nbformat.read(folder / lesson, as_version=4), former_map(lesson))
        assert renamed >= len(tasks)
        scratch = [nbformat.v4.new_code_cell(f"def {name}(*args):\n    return None\n") for name in tasks]
        nb.cells = scratch + nb.cells
        nbformat.write(nb, folder / lesson)
    code = load_student_code(folder)
    rows = student_agreement(code, seed=3)
    assert code.problems == []
    assert len(rows) == ALL_ROWS and all(row.agrees and row.max_abs < 1e-10 for row in rows), rows
