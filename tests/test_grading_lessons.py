"""``lora-course grade`` on the course's real notebooks (real kernels, about a minute with --jobs 2).

The solutions as submissions get every auto-graded point; the untouched student notebooks get none,
with status ok; lesson 05's typical mistakes each lose the check that targets them.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from fencing import requires_fence
from former_ids import former_map, with_former_ids
from grading_cache import sharing

from lora_course.cli.main import main
from lora_course.grading.items import items_from_solution

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS, NOTEBOOKS = ROOT / "solutions", ROOT / "notebooks"
PROJECT = "05_project.ipynb"
# Lessons handed in by student "former_ids": the solutions as a course version before the cell renames had them.
FORMER_ID_LESSONS = ("02_reparameterization.ipynb", "04_merging_and_deployment.ipynb")



pytestmark = requires_fence

# Each typical mistake is written in the student's own answer cell, after the solution's code that defines the name
# (implement-it items are graded from the answer cells alone: a cell added after them does not count).
MISTAKES = {
    "b_random": ("class LoRA", '''
_init = LoRA.__init__
def _b_random(self, d_in, d_out, r, alpha=None, init_scale=0.01, rng=None):
    _init(self, d_in, d_out, r, alpha=alpha, init_scale=init_scale, rng=rng)
    self.B = rng.normal(0.0, init_scale, size=self.B.shape)      # mistake: B random, so B A != 0 at step 0
LoRA.__init__ = _b_random
'''),
    "scale_alpha": ("class LoRA", '''
_init = LoRA.__init__
def _scale_alpha(self, d_in, d_out, r, alpha=None, init_scale=0.01, rng=None):
    _init(self, d_in, d_out, r, alpha=alpha, init_scale=init_scale, rng=rng)
    self.scale = self.alpha                                        # mistake: alpha instead of alpha / r
LoRA.__init__ = _scale_alpha
'''),
    "transposed": ("class LoRA", '''
_backward = LoRA.backward
def _transposed(self, grad_output, cache):
    grad_x = _backward(self, grad_output, cache)
    self.dB = self.dB.T                                            # mistake: dB as z^T g, transposed
    return grad_x
LoRA.backward = _transposed
'''),
    "frozen_modified": ("def train_task", '''
_train = train_task
def train_task(X, y, net, lora_1, lora_2, head, epochs=EPOCHS, lr=LR):
    losses = _train(X, y, net, lora_1, lora_2, head, epochs, lr)
    net.W2 += 1e-3                                                 # mistake: the frozen weights move
    return losses
'''),
    # the frozen-weights bug hidden behind a patched FrozenNetwork.arrays (issue 14, item 3)
    "frozen_patched": ("def train_task", '''
import lora_course.lessons.l05_project as _pd
_pristine = {}
_arrays = _pd.FrozenNetwork.arrays
_pd.FrozenNetwork.arrays = lambda self: _pristine.get(id(self)) or _arrays(self)
_train = train_task
def train_task(X, y, net, lora_1, lora_2, head, epochs=EPOCHS, lr=LR):
    _pristine.setdefault(id(net), {k: v.copy() for k, v in _arrays(net).items()})
    losses = _train(X, y, net, lora_1, lora_2, head, epochs, lr)
    net.W2 += 1e-3                                                 # mistake, hidden from .arrays()
    return losses
'''),
}

# The package's reference standing in for the student's LoRA class (issue 13): each loses the LoRA checks.
REFERENCE_USE = {
    "ref_import": "from lora_course.layer import LoRA",
    "ref_alias": "import lora_course.layer as _layer\nLoRA = _layer.LoRA",
    "ref_subclass": "import lora_course\nclass LoRA(lora_course.layer.LoRA):\n    pass",
    "ref_wrapper": ("_Mine = LoRA\nclass LoRA(_Mine):\n    def forward(self, x):\n"
                    "        from lora_course.layer import lora_forward\n"
                    "        return lora_forward(x, self.A, self.B, self.scale)"),
}
LORA_CHECKS = ["05-lora_init", "05-lora_forward", "05-lora_backward", "05-lora_update", "05-merged_delta"]


def with_cell_after(nb: nbformat.NotebookNode, marker: str, source: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose answer cell holding ``marker`` ends with ``source``."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    index = next(i for i, c in enumerate(nb.cells) if marker in c.source)
    nb.cells[index].source += "\n\n" + source.strip() + "\n"
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lessons")
    subs = tmp / "subs"
    (subs / "solution").mkdir(parents=True)
    (subs / "untouched").mkdir()
    for path in sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb")):
        shutil.copy(path, subs / "solution" / path.name)
        if (NOTEBOOKS / path.name).exists():
            shutil.copy(NOTEBOOKS / path.name, subs / "untouched" / path.name)
    solution = nbformat.read(SOLUTIONS / PROJECT, as_version=4)
    for student, (marker, source) in MISTAKES.items():
        (subs / student).mkdir()
        nbformat.write(with_cell_after(solution, marker, source), subs / student / PROJECT)
    for student, source in REFERENCE_USE.items():
        (subs / student).mkdir()
        nbformat.write(with_cell_after(solution, "class LoRA", source), subs / student / PROJECT)
    # partial: only the LoRA class filled in (taken from the solution by cell id)
    partial = nbformat.read(NOTEBOOKS / PROJECT, as_version=4)
    lora_cell = next(c for c in solution.cells if "class LoRA" in c.source)
    for c in partial.cells:
        if c.id == lora_cell.id:
            c.source = lora_cell.source
    (subs / "partial").mkdir()
    nbformat.write(partial, subs / "partial" / PROJECT)
    (subs / "former_ids").mkdir()
    for lesson in FORMER_ID_LESSONS:
        old, renamed = with_former_ids(nbformat.read(SOLUTIONS / lesson, as_version=4), former_map(lesson))
        assert renamed > 0
        nbformat.write(old, subs / "former_ids" / lesson)
    out = tmp / "grades.csv"
    with sharing(tmp_path_factory):      # test_gradescope.py grades some of them too
        assert main(["grade", str(subs), "--out", str(out), "--feedback", str(tmp / "fb"), "--jobs", "2",
                     "--timeout", "120", "--no-progress"]) == 0
    rows = list(csv.reader(out.open()))
    header = rows[0]
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}, tmp / "fb"


def all_items():
    return [i for p in sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
            for i in items_from_solution(nbformat.read(p, as_version=4), p.name)]


def test_solutions_get_every_auto_graded_point(graded):
    rows, _ = graded
    row = rows["solution"]
    assert row["status"] == "ok"
    for item in all_items():
        assert row[item.grade_id] == ("" if item.kind == "manual" else f"{item.points:g}"), item.grade_id
    assert float(row["total"]) == sum(i.points for i in all_items() if i.kind != "manual")
    assert float(row["max"]) == sum(i.points for i in all_items())


def test_untouched_student_notebooks_get_zero_with_status_ok(graded):
    rows, _ = graded
    row = rows["untouched"]
    assert row["status"] == "ok" and row["total"] == "0"
    assert all(row[i.grade_id] == ("" if i.kind == "manual" else "0") for i in all_items())


@pytest.mark.parametrize(("student", "lost", "kept"), [
    ("b_random", ["05-lora_init", "05-zero_init"], ["05-lora_forward", "05-lora_backward"]),
    ("scale_alpha", ["05-lora_init", "05-lora_forward"], ["05-lora_update"]),
    ("transposed", ["05-lora_backward"], ["05-lora_init", "05-lora_forward", "05-merged_delta"]),
    ("frozen_modified", ["05-frozen_unchanged", "05-no_interference"], ["05-lora_backward", "05-exact_backprop"]),
    ("frozen_patched", ["05-frozen_unchanged", "05-no_interference"], ["05-lora_backward", "05-exact_backprop"]),
    ("partial", ["05-adapted_forward", "05-exact_backprop", "05-apply-task-numbers"],
     ["05-lora_init", "05-lora_forward", "05-lora_backward", "05-lora_update", "05-merged_delta"]),
])
def test_each_typical_mistake_loses_its_check(graded, student, lost, kept):
    rows, feedback = graded
    row = rows[student]
    points = {i.grade_id: f"{i.points:g}" for i in all_items()}
    assert row["status"].startswith("missing:") and PROJECT not in row["status"], "only lesson 05 was handed in"
    assert [row[g] for g in lost] == ["0"] * len(lost)
    assert [row[g] for g in kept] == [points[g] for g in kept]
    assert 0 < float(row["total"]) < float(rows["solution"]["total"])
    assert "| failed |" in (feedback / f"{student}.md").read_text()


@pytest.mark.parametrize("student", sorted(REFERENCE_USE))
def test_the_reference_standing_in_for_the_lora_class_scores_zero_on_its_tasks(graded, student):
    rows, feedback = graded
    row = rows[student]
    points = {i.grade_id: f"{i.points:g}" for i in all_items()}
    assert [row[g] for g in LORA_CHECKS] == ["0"] * len(LORA_CHECKS), row
    kept = ["05-merge_equivalence", "05-apply-task-numbers"]
    if student != "ref_wrapper":     # its LoRA.forward imports the reference when called: where implement-it items
        kept += ["05-adapted_forward", "05-exact_backprop"]   # are graded that import fails, so every check that
    #                                  runs LoRA.forward fails with it (as for a student with no working LoRA)
    assert [row[g] for g in kept] == [points[g] for g in kept], "the student's own functions keep their points"
    text = (feedback / f"{student}.md").read_text()
    assert "reference used" in text and "lora_course.layer" in text and "package's own implementation" in text


def test_the_solution_is_not_flagged_for_reference_use(graded):
    _, feedback = graded
    assert "reference used" not in (feedback / "solution.md").read_text()


def test_solutions_with_the_former_cell_ids_grade_as_with_todays(graded):
    rows, _ = graded
    row, today = rows["former_ids"], rows["solution"]
    items = [i for lesson in FORMER_ID_LESSONS
             for i in items_from_solution(nbformat.read(SOLUTIONS / lesson, as_version=4), lesson)]
    assert [i for i in items if i.kind != "manual"], "these lessons have auto-graded items"
    assert {i.grade_id: row[i.grade_id] for i in items} == {i.grade_id: today[i.grade_id] for i in items}
    assert all(row[i.grade_id] == f"{i.points:g}" for i in items if i.kind != "manual")
