"""nbgrader's own commands on the exported lessons give the auto-graded points ``lora-course grade`` gives.

``lora-course nbgrader-export`` writes the source folder; ``nbgrader generate_assignment`` makes the release
versions; three students per lesson (00-05) submit: ``correct`` (every answer cell from the solution),
``untouched`` (the release / student version as handed out) and ``partial`` (the first half of the answer cells
filled in, one auto answer off by a factor of two, and where the lesson has one, a typical task mistake as an
added cell). ``nbgrader autograde`` scores them; the same answers, by cell id, in our student notebooks go
through ``lora-course grade``; every auto-graded item must get the same points from both.
nbgrader is a test dependency (the ``test`` extra): nothing here is skipped without it.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from test_grading_lessons import MISTAKES as PROJECT_MISTAKES
from test_grading_lessons import with_cell_after
from test_grading_tasks import MISTAKES as TASK_MISTAKES

from lora_course.cli.main import main
from lora_course.grading.items import answer_cell_ids, items_from_solution
from lora_course.grading.nbgrader_export import ExportError, assignment_name

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS, NOTEBOOKS = ROOT / "solutions", ROOT / "notebooks"
LESSONS = [p.name for p in sorted(SOLUTIONS.glob("0[0-57]_*.ipynb"))]
STUDENTS = ("correct", "untouched", "partial")
# lesson -> (the cell a typical mistake follows: id or source marker, the student's added cell)
# (a grade cell scores its item where it stands, our grader after the whole notebook: lesson 04's in-place merge
# goes right after the merge task, before every check that calls it, so both see the same functions)
ADDED = {TASK_MISTAKES[s][0]: TASK_MISTAKES[s][1:] for s in ("t01_squares", "t02_divided_by_n")}
ADDED["04_merging_and_deployment.ipynb"] = ("l04-merge-task", TASK_MISTAKES["t04_broadcast_in_place"][2])
ADDED["05_project.ipynb"] = PROJECT_MISTAKES["scale_alpha"]


def answers(notebook: str, student: str) -> dict[str, str]:
    """The student's answer cells, by cell id (sources from the solution)."""
    solution = nbformat.read(SOLUTIONS / notebook, as_version=4)
    ids = [c.id for c in solution.cells if c.id in answer_cell_ids(solution)]
    chosen = {"correct": ids, "untouched": [], "partial": ids[: (len(ids) + 1) // 2]}[student]
    out = {c.id: c.source for c in solution.cells if c.id in chosen}
    if student == "partial":           # and a typical slip: the last auto answer off by a factor of 2
        auto = [i for i in items_from_solution(solution, notebook) if i.kind == "auto" and i.cell_id in ids][-1]
        out[auto.cell_id] = f"{solution.cells[[c.id for c in solution.cells].index(auto.cell_id)].source}\n" \
                            f"{auto.target} = 2 * {auto.target}"
    return out


def submission(handed_out: nbformat.NotebookNode, notebook: str, student: str) -> nbformat.NotebookNode:
    """The handed-out notebook (ours or nbgrader's release) with the student's answers put in by cell id."""
    nb = nbformat.from_dict(json.loads(json.dumps(handed_out)))
    filled = answers(notebook, student)
    for cell in nb.cells:
        cell.source = filled.get(cell.id, cell.source)
    if student == "partial" and notebook in ADDED:
        after, source = ADDED[notebook]
        marker = next((c.source for c in nb.cells if c.id == after), after)
        nb = with_cell_after(nb, marker, source)
    return nb


def nbgrader(course: Path, *args: str) -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0 and "ERROR" not in done.stderr, done.stderr[-4000:]


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nbgrader")
    course, subs = tmp / "course", tmp / "subs"
    assert main(["nbgrader-export", str(course), "--root", str(ROOT)]) == 0
    for notebook in LESSONS:
        assignment = assignment_name(notebook)
        nbgrader(course, "generate_assignment", assignment)
        release = nbformat.read(course / "release" / assignment / notebook, as_version=4)
        ours = nbformat.read(NOTEBOOKS / notebook, as_version=4)
        for student in STUDENTS:
            (course / "submitted" / student / assignment).mkdir(parents=True, exist_ok=True)
            nbformat.write(submission(release, notebook, student), course / "submitted" / student / assignment
                           / notebook)
            (subs / student).mkdir(parents=True, exist_ok=True)
            nbformat.write(submission(ours, notebook, student), subs / student / notebook)
    # nbgrader on one core, our grader on the other, at the same time
    with ThreadPoolExecutor(1) as pool:
        autograde = pool.submit(lambda: [nbgrader(course, "autograde", assignment_name(n)) for n in LESSONS])
        out = tmp / "grades.csv"
        assert main(["grade", str(subs), "--out", str(out), "--jobs", "1", "--timeout", "120", "--no-progress"]) == 0
        autograde.result()
    rows = list(csv.reader(out.open()))
    lora = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    theirs: dict[str, dict[str, float]] = {s: {} for s in STUDENTS}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for notebook in LESSONS:
            for item in items_from_solution(nbformat.read(SOLUTIONS / notebook, as_version=4), notebook):
                if item.kind == "manual":
                    continue
                for student in STUDENTS:
                    grade = gb.find_grade(item.grade_id, notebook[:-6], assignment_name(notebook), student)
                    theirs[student][item.grade_id] = grade.auto_score
    return lora, theirs, course


def graded_items(notebook: str):
    return [i for i in items_from_solution(nbformat.read(SOLUTIONS / notebook, as_version=4), notebook)
            if i.kind != "manual"]


@pytest.mark.parametrize("student", STUDENTS)
def test_nbgrader_autograde_gives_our_points(scores, student):
    lora, theirs, _ = scores
    table = []
    for notebook in LESSONS:
        ours_nb = sum(float(lora[student][i.grade_id]) for i in graded_items(notebook))
        theirs_nb = sum(theirs[student][i.grade_id] for i in graded_items(notebook))
        table.append(f"{notebook[:2]} {student}: nbgrader {theirs_nb:g}, lora-course grade {ours_nb:g}")
    print("\n".join(table))
    mismatched = {i.grade_id: (theirs[student][i.grade_id], lora[student][i.grade_id])
                  for n in LESSONS for i in graded_items(n)
                  if theirs[student][i.grade_id] != float(lora[student][i.grade_id])}
    assert not mismatched, ("(nbgrader, ours) per item", mismatched, table)
    totals = [float(lora[student][i.grade_id]) for n in LESSONS for i in graded_items(n)]
    max_points = sum(i.points for n in LESSONS for i in graded_items(n))
    if student == "correct":
        assert sum(totals) == max_points
    elif student == "untouched":
        assert sum(totals) == 0
    else:
        assert 0 < sum(totals) < max_points


def test_grade_cells_hold_no_more_than_the_check_cells(scores):
    """The grade cells carry the same keys as the check cells the student already sees (auto items)."""
    _, _, course = scores
    for notebook in LESSONS:
        source = (course / "source" / assignment_name(notebook) / notebook).read_text()
        solution = (SOLUTIONS / notebook).read_text()
        for item in graded_items(notebook):
            if item.kind == "auto":
                assert item.key in solution and item.key in source


def test_export_refuses_to_overwrite(tmp_path, capsys):
    assert main(["nbgrader-export", str(tmp_path), "--root", str(ROOT), "--only", "00"]) == 0
    target = tmp_path / "source" / "lesson00" / LESSONS[0]
    before = target.read_bytes()
    assert main(["nbgrader-export", str(tmp_path), "--root", str(ROOT), "--only", "00"]) == 2
    assert "expected no exported notebooks there yet" in capsys.readouterr().err
    assert target.read_bytes() == before
    with pytest.raises(ExportError, match="expected a lesson notebook name"):
        assignment_name("project.ipynb")
    assert main(["nbgrader-export", str(tmp_path / "x"), "--root", str(ROOT), "--only", "3"]) == 2
    assert "expected two-digit lesson numbers such as 03, got ['3']" in capsys.readouterr().err
