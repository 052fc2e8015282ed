"""``lora-course grade`` on the implement-it tasks of lessons 01-04 (real kernels; about a minute with --jobs 2).

Each typical mistake loses exactly the task items it breaks and keeps every other point of its lesson; a student who
filled in only the first task of lesson 02 gets that task's points. (The solutions' full marks and the untouched
notebooks' zero are checked for every lesson in test_grading_lessons.py.)
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from fencing import requires_fence
from grading_cache import sharing

from lora_course.cli.main import main
from lora_course.grading.items import items_from_solution

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS, NOTEBOOKS = ROOT / "solutions", ROOT / "notebooks"
L01, L02, L04 = "01_rank.ipynb", "02_reparameterization.ipynb", "04_merging_and_deployment.ipynb"
L07 = "07_lora_family.ipynb"

pytestmark = requires_fence

# student -> (notebook, the solution's task cell, what the student's answer cell adds after the solution's code)
MISTAKES = {
    "t01_squares": (L01, "l01-svd-task", '''
def svd_by_eig(M):
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return U, s**2, Vt                                   # mistake: the eigenvalues sigma^2, not sigma
'''),
    "t02_divided_by_n": (L02, "l02-backward-task", '''
_backward = lora_layer_backward
def lora_layer_backward(G, cache):
    dX, dA, dB = _backward(G, cache)
    return dX, dA, dB / G.shape[0]                       # mistake: a second 1/n
'''),
    "t02_reference": (L02, "l02-forward-task", '''
from lora_course.layer import linear_lora_forward, scale_factor
def lora_layer_forward(X, W0, A, B, alpha):              # the package's reference stands in for the task
    return linear_lora_forward(X, W0, A, B, scale_factor(A.shape[0], alpha))
'''),
    "t04_broadcast_in_place": (L04, "l04-gathered-task", '''
def gathered_forward(W0, A_stack, B_stack, scales, X, ids):
    A, B = A_stack[ids[0]], B_stack[ids[0]]              # mistake: the first row's adapter for every row
    return X @ W0.T + scales[ids[0]] * X @ A.T @ B.T
def merge_weight(W0, A, B, scale):
    W0 += scale * B @ A                                  # mistake: the frozen weight changes in place
    return W0
'''),
    "t07_dora_columns": (L07, "l07-dora-task", '''
def dora_merged_weight(W0, A, B, m, scale):
    V = W0 + scale * (B @ A)
    return m[:, None] * V / np.linalg.norm(V, axis=0, keepdims=True)   # mistake: one norm per column
'''),
    "t07_pissa_no_residual": (L07, "l07-pissa-task", '''
_pissa = pissa_factors
def pissa_factors(W0, r, scale):
    A, B, _ = _pissa(W0, r, scale)
    return A, B, W0                                      # mistake: the frozen weight keeps the top r part too
'''),
    "t07_nf4_uniform": (L07, "l07-nf4-levels-task", '''
def normal_float_levels(offset=0.9677083):
    return np.linspace(-1.0, 1.0, 16)                    # mistake: a uniform grid, not normal quantiles
'''),
    "t07_whole_blocks_only": (L07, "l07-nf4-quantize-task", '''
def nf4_quantize(W, levels, block=64):
    blocks = W.reshape(-1, block)                        # mistake: assumes block divides W.size
    absmax = np.abs(blocks).max(axis=1)
    codes = np.argmin(np.abs((blocks / absmax[:, None])[..., None] - levels), axis=-1)
    return codes.ravel(), absmax
'''),
    "t07_no_return": (L07, "l07-loraplus-task", '''
def loraplus_sgd_step(A, B, dA, dB, lr, ratio):
    A_new, B_new = A - lr * dA, B - ratio * lr * dB      # mistake: no return statement
'''),
}
L07_ITEMS = ["07-task-dora", "07-task-pissa", "07-task-loraplus", "07-task-nf4-levels", "07-task-nf4-quantize",
             "07-task-nf4-dequantize", "07-apply-rslora-scale", "07-apply-nf4-bits"]
EXPECTED = {   # student -> (items lost, items kept)
    "t01_squares": (["01-task-svd"], ["01-task-factor", "01-task-errors", "01-apply-full"]),
    "t02_divided_by_n": (["02-task-backward"], ["02-task-forward", "02-task-numerical-gradient", "02-apply-new-scale"]),
    # the reference's forward also hands the student's backward a cache it cannot read, so backward fails too
    "t02_reference": (["02-task-forward", "02-task-backward"],
                      ["02-task-init", "02-task-numerical-gradient", "02-apply-new-scale"]),
    "t04_broadcast_in_place": (["04-task-gathered", "04-task-merge"],
                               ["04-task-unmerge", "04-task-switch", "04-apply-numbers-loaded"]),
    "t02_partial": (["02-task-backward", "02-task-numerical-gradient", "02-apply-new-scale"], ["02-task-forward"]),
    "t07_dora_columns": (["07-task-dora"], [g for g in L07_ITEMS if g != "07-task-dora"]),
    "t07_pissa_no_residual": (["07-task-pissa"], [g for g in L07_ITEMS if g != "07-task-pissa"]),
    "t07_nf4_uniform": (["07-task-nf4-levels"], [g for g in L07_ITEMS if g != "07-task-nf4-levels"]),
    "t07_whole_blocks_only": (["07-task-nf4-quantize"], [g for g in L07_ITEMS if g != "07-task-nf4-quantize"]),
    "t07_no_return": (["07-task-loraplus"], [g for g in L07_ITEMS if g != "07-task-loraplus"]),
}
HINTS = {"t01_squares": ["square root"], "t02_divided_by_n": ["do not divide by n"],
         "t04_broadcast_in_place": ["broadcasting instead of gathering", "in place"],
         "t02_reference": ["own implementation"], "t02_partial": ["not implemented"],
         "t07_dora_columns": ["wrong axis"], "t07_pissa_no_residual": ["without the residual"],
         "t07_nf4_uniform": ["uniform grid"], "t07_whole_blocks_only": ["partial"],
         "t07_no_return": ["return statement is missing"]}


def _copy(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return nbformat.from_dict(json.loads(json.dumps(nb)))


def items(notebook: str):
    return items_from_solution(nbformat.read(SOLUTIONS / notebook, as_version=4), notebook)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tasks")
    subs = tmp / "subs"
    for student, (notebook, after, source) in MISTAKES.items():
        nb = _copy(nbformat.read(SOLUTIONS / notebook, as_version=4))
        index = [c.get("id") for c in nb.cells].index(after)
        nb.cells[index].source += "\n\n" + source.strip() + "\n"      # in the answer cell: graded alone
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / notebook)
    # partial: the untouched lesson 02 with only the forward task filled in (from the solution, by cell id)
    partial = nbformat.read(NOTEBOOKS / L02, as_version=4)
    solution = {c.get("id"): c for c in nbformat.read(SOLUTIONS / L02, as_version=4).cells}
    for c in partial.cells:
        if c.get("id") == "l02-forward-task":
            c.source = solution[c.id].source
    (subs / "t02_partial").mkdir()
    nbformat.write(partial, subs / "t02_partial" / L02)
    out = tmp / "grades.csv"
    with sharing(tmp_path_factory):      # test_gradescope.py grades some of them too
        assert main(["grade", str(subs), "--out", str(out), "--feedback", str(tmp / "fb"), "--jobs", "2",
                     "--timeout", "120", "--no-progress"]) == 0
    shutil.rmtree(subs)
    rows = list(csv.reader(out.open()))
    return {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}, tmp / "fb"


def test_task_items_carry_their_checks_module():
    for notebook in (L01, L02, L04, L07):
        tasks = [i for i in items(notebook) if i.grade_id.split("-")[1] == "task"]
        assert len(tasks) >= 2 and all(i.kind == "project" for i in tasks)
        assert {i.checks_module for i in tasks} == {f"lora_course.feedback.tasks.lesson{notebook[:2]}"}


@pytest.mark.parametrize("student", EXPECTED)
def test_each_typical_mistake_loses_only_its_task(graded, student):
    rows, feedback = graded
    row = rows[student]
    notebook = MISTAKES.get(student, (L02,))[0]
    points = {i.grade_id: i.points for i in items(notebook)}
    lost, kept = EXPECTED[student]
    assert [row[g] for g in lost] == ["0"] * len(lost), row
    assert [row[g] for g in kept] == [f"{points[g]:g}" for g in kept], row
    if student != "t02_partial":      # every other auto and task point of the lesson is kept
        auto = sum(i.points for i in items(notebook) if i.kind != "manual")
        assert float(row["total"]) == auto - sum(points[g] for g in lost)
    text = (feedback / f"{student}.md").read_text()
    assert "| failed |" in text
    assert all(hint in text for hint in HINTS[student]), text
