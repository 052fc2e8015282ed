"""nbgrader's own commands on the exported lessons give the auto-graded points ``lora-course grade`` gives, and
no line a student adds forges them.

``lora-course nbgrader-export`` writes the source folder and its ``nbgrader_config.py`` (autograde grades in our
sandbox: ``grading.nbgrader_verdicts``); ``nbgrader generate_assignment`` makes the release versions. Students:
``correct`` (every answer cell from the solution, lessons 01 and 05: full marks item by item), ``partial`` (every
lesson: the first half of the answer cells, one auto answer off by a factor of two, and where the lesson has one
a typical task mistake as an added cell: item by item the points ``lora-course grade`` gives the same answers
in our student notebooks), ``untouched`` (lessons 01 and 05, as handed out: 0 item by item), and on lesson 01
forgers: the untouched notebook plus one added cell each (``FORGERS``), 0 item by item. A second course
folder whose configuration keeps nbgrader's ``Execute`` (grade cells run in the student's kernel) shows which
of those attacks that model still lets through (``IN_KERNEL``): the guide states them, section 5.
nbgrader is a test dependency (the ``test`` extra): nothing here is skipped without it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from former_ids import former_map, with_former_ids
from nbgrader.api import Gradebook
from test_grading_lessons import MISTAKES as PROJECT_MISTAKES
from test_grading_lessons import with_cell_after
from test_grading_tasks import MISTAKES as TASK_MISTAKES

from lora_course.cli.main import main
from lora_course.grading.items import answer_cell_ids, items_from_solution
from lora_course.grading.nbgrader_export import ExportError, assignment_name, nbgrader_source

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS, NOTEBOOKS = ROOT / "solutions", ROOT / "notebooks"
LESSONS = [p.name for p in sorted(SOLUTIONS.glob("0[0-57]_*.ipynb"))]
STUDENTS = ("correct", "untouched", "partial")
# which students submit which lessons (nbgrader runs one kernel per submitted notebook: the slow part). "partial"
# hands in every lesson and is compared item by item, full points included (its first half of answers is right);
# "correct" and "untouched" show every point and none on lessons 01 (answers and implement-it tasks) and 05 (the
# project's checks), which between them hold every kind of graded item.
SUBMITS = {"correct": [n for n in LESSONS if n.startswith(("01", "05"))], "partial": LESSONS,
           "untouched": [n for n in LESSONS if n.startswith(("01", "05"))]}
FORGED_LESSON = next(n for n in LESSONS if n.startswith("01"))
FORGERS = {   # student -> a cell added after the first code cell of the untouched notebook
    # a grade cell with no output is nbgrader's full credit: hide every cell's value
    "forger_silent": "get_ipython().ast_node_interactivity = 'none'",
    # patch the helpers the grade cells call
    "forger_patch": "import lora_course.grading.nbgrader_cells as cells\n"
                    "cells.answer_score = cells.project_score = lambda *args, **kwargs: None",
    # rewrite every later grade cell before it runs
    "forger_transform": "get_ipython().input_transformers_post.append(\n"
                        "    lambda lines: ['pass\\n'] if lines and 'nbgrader grade cell' in lines[0] else lines)",
    # the first interpreter's probe redirected through a name of the notebook's namespace
    "forger_exec": "def exec(source, *args, **kwargs):\n    pass\n"
                   "def globals():\n    return {}\n",
}
# what a forger gets where the grade cells run in the student's kernel (nbgrader's Execute): full marks or 0
IN_KERNEL = {"forger_silent": "zero", "forger_patch": "full", "forger_transform": "full"}
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
    filled = answers(notebook, student) if student in STUDENTS else {}
    for cell in nb.cells:
        cell.source = filled.get(cell.id, cell.source)
    if student == "partial" and notebook in ADDED:
        after, source = ADDED[notebook]
        marker = next((c.source for c in nb.cells if c.id == after), after)
        nb = with_cell_after(nb, marker, source)
    if student in FORGERS:                      # a cell of its own (nbgrader restores locked cells' sources)
        first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        nb.cells.insert(first + 1, nbformat.v4.new_code_cell(FORGERS[student]))
    return nb


def nbgrader(course: Path, *args: str) -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0 and "ERROR" not in done.stderr, done.stderr[-4000:]


def submit(course: Path, release: nbformat.NotebookNode, notebook: str, student: str) -> None:
    folder = course / "submitted" / student / assignment_name(notebook)
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(submission(release, notebook, student), folder / notebook)


def gradebook_scores(course: Path, submitted: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    theirs: dict[str, dict[str, float]] = {s: {} for s in submitted}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student, notebooks in submitted.items():
            for notebook in notebooks:
                for item in graded_items(notebook):
                    grade = gb.find_grade(item.grade_id, notebook[:-6], assignment_name(notebook), student)
                    theirs[student][item.grade_id] = grade.auto_score
    return theirs


IN_KERNEL_CONFIG = '''c = get_config()  # noqa: F821
c.Execute.timeout = 300
'''


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nbgrader")
    course, subs, plain = tmp / "course", tmp / "subs", tmp / "in_kernel"
    assert main(["nbgrader-export", str(course), "--root", str(ROOT)]) == 0
    submitted = {s: list(n) for s, n in SUBMITS.items()} | {f: [FORGED_LESSON] for f in FORGERS}
    nbgrader(course, "generate_assignment", "lesson*")          # one nbgrader process for every lesson
    for notebook in LESSONS:
        assignment = assignment_name(notebook)
        release = nbformat.read(course / "release" / assignment / notebook, as_version=4)
        for student, notebooks in submitted.items():
            if notebook in notebooks:
                submit(course, release, notebook, student)
    for notebook in LESSONS:                        # our grader: the partial student, in our student notebooks
        (subs / "partial").mkdir(parents=True, exist_ok=True)
        nbformat.write(submission(nbformat.read(NOTEBOOKS / notebook, as_version=4), notebook, "partial"),
                       subs / "partial" / notebook)
    # the same course with nbgrader's own Execute: grade cells run in the student's kernel (lesson 01, forgers)
    lesson = assignment_name(FORGED_LESSON)
    shutil.copytree(course / "source" / lesson, plain / "source" / lesson)
    (plain / "nbgrader_config.py").write_text(IN_KERNEL_CONFIG)
    release = nbformat.read(course / "release" / assignment_name(FORGED_LESSON) / FORGED_LESSON, as_version=4)
    for forger in IN_KERNEL:
        submit(plain, release, FORGED_LESSON, forger)
    nbgrader(plain, "generate_assignment", assignment_name(FORGED_LESSON), "--force")
    # nbgrader on one core, our grader on the other, at the same time
    with ThreadPoolExecutor(1) as pool:
        autograde = pool.submit(nbgrader, course, "autograde", "lesson*")
        out = tmp / "grades.csv"
        assert main(["grade", str(subs), "--out", str(out), "--jobs", "1", "--timeout", "120", "--no-progress"]) == 0
        autograde.result()
    nbgrader(plain, "autograde", assignment_name(FORGED_LESSON))
    rows = list(csv.reader(out.open()))
    lora = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    in_kernel = gradebook_scores(plain, {f: [FORGED_LESSON] for f in IN_KERNEL})
    return lora, gradebook_scores(course, submitted), course, in_kernel


def graded_items(notebook: str):
    return [i for i in items_from_solution(nbformat.read(SOLUTIONS / notebook, as_version=4), notebook)
            if i.kind != "manual"]


def test_nbgrader_autograde_gives_our_points(scores):
    """partial: item by item what lora-course grade gives; correct: every item's points; untouched: 0."""
    lora, theirs, _, _ = scores
    table, mismatched = [], {}
    for notebook in LESSONS:
        items = graded_items(notebook)
        ours_nb = sum(float(lora["partial"][i.grade_id]) for i in items)
        theirs_nb = sum(theirs["partial"][i.grade_id] for i in items)
        table.append(f"{notebook[:2]} partial: nbgrader {theirs_nb:g}, lora-course grade {ours_nb:g}")
        mismatched |= {i.grade_id: (theirs["partial"][i.grade_id], lora["partial"][i.grade_id]) for i in items
                       if theirs["partial"][i.grade_id] != float(lora["partial"][i.grade_id])}
    print("\n".join(table))
    assert not mismatched, ("(nbgrader, ours) per item", mismatched, table)
    partial = sum(float(lora["partial"][i.grade_id]) for n in LESSONS for i in graded_items(n))
    assert 0 < partial < sum(i.points for n in LESSONS for i in graded_items(n))
    for student, expected in (("correct", lambda i: float(i.points)), ("untouched", lambda i: 0.0)):
        wrong = {i.grade_id: theirs[student][i.grade_id] for n in SUBMITS[student] for i in graded_items(n)
                 if theirs[student][i.grade_id] != expected(i)}
        assert not wrong, (student, wrong)


@pytest.mark.parametrize("forger", list(FORGERS))
def test_no_added_cell_forges_an_nbgrader_grade(scores, forger):
    """Under the exported configuration every forger gets 0 on every item (their answers are untouched)."""
    _, theirs, _, _ = scores
    got = {i.grade_id: theirs[forger][i.grade_id] for i in graded_items(FORGED_LESSON)}
    assert got and not any(got.values()), got


@pytest.mark.parametrize("forger", list(IN_KERNEL))
def test_what_the_in_kernel_model_still_lets_through(scores, forger):
    """With nbgrader's Execute (grade cells in the student's kernel) raising defeats a silenced cell; patching
    the helper or rewriting the grade cells still gives full marks, which is why the export replaces Execute
    (the guide names these attacks)."""
    _, _, _, in_kernel = scores
    items = graded_items(FORGED_LESSON)
    got = [in_kernel[forger][i.grade_id] for i in items]
    expected = [float(i.points) for i in items] if IN_KERNEL[forger] == "full" else [0.0] * len(items)
    assert got == expected, (forger, got)


def test_grade_cells_hold_no_more_than_the_check_cells(scores):
    """The grade cells carry the same keys as the check cells the student already sees (auto items)."""
    _, _, course, _ = scores
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


def test_a_grade_cell_fails_loudly_unless_its_item_earned_every_point(capsys):
    """In a kernel: a wrong or missing answer raises (nbgrader: 0), a right one prints its line (full credit)."""
    from lora_course.feedback.answers import make_key
    from lora_course.grading.nbgrader_cells import NotFullCredit, answer_score

    key = make_key(96, "int")
    assert answer_score({"answer_params": 96}, "params", "answer_params", key, points=2) is None
    assert "params: 2 / 2 points (correct)" in capsys.readouterr().out
    for namespace in ({"answer_params": 95}, {}, {"answer_params": 96, "exec": print, "globals": dict}):
        if "exec" in namespace:      # names of the namespace the probe could have looked up change nothing
            assert answer_score(namespace, "params", "answer_params", key, points=2) is None
            continue
        with pytest.raises(NotFullCredit, match="params: 0 / 2 points"):
            answer_score(namespace, "params", "answer_params", key, points=2)


def test_autograde_writes_each_verdict_as_the_grade_cells_only_output():
    from lora_course.grading.batch import NotebookResult
    from lora_course.grading.items import GradedItem
    from lora_course.grading.nbgrader_verdicts import verdict_outputs
    from lora_course.grading.verdict import ItemResult

    item = GradedItem("01_x.ipynb", "x-params", 2, "auto", "c", target="answer_params")
    right = NotebookResult("01_x.ipynb", results=[ItemResult(item, 2.0, "correct")])
    wrong = NotebookResult("01_x.ipynb", results=[ItemResult(item, 0.0, "not yet", "answer_params = 95")])
    assert [o["output_type"] for o in verdict_outputs("x-params", 2, right)] == ["stream"]
    out = verdict_outputs("x-params", 2, wrong)
    assert [o["output_type"] for o in out] == ["error"] and "0 / 2 points (not yet)" in out[0]["evalue"]
    assert verdict_outputs("x-other", 1, right)[0]["output_type"] == "error", "an item not graded earns nothing"


def test_the_exported_configuration_grades_in_the_sandbox(tmp_path):
    assert main(["nbgrader-export", str(tmp_path), "--root", str(ROOT), "--only", "01"]) == 0
    config = (tmp_path / "nbgrader_config.py").read_text()
    namespace = {"get_config": lambda: __import__("traitlets.config", fromlist=["Config"]).Config()}
    exec(compile(config, "nbgrader_config.py", "exec"), namespace)  # noqa: S102 - the file the export wrote
    steps = [p.__name__ for p in namespace["c"].Autograde.autograde_preprocessors]
    assert steps[0] == "LoraVerdicts" and "Execute" not in steps and "SaveAutoGrades" in steps
    assert namespace["c"].Autograde.autograde_preprocessors[0]().enabled, "nbconvert skips a disabled step"


@pytest.mark.parametrize("lesson", ["01_rank.ipynb", "05_project.ipynb"])
def test_a_renamed_cell_keeps_its_nbgrader_name(lesson):
    """nbgrader matches submissions to the gradebook by each cell's ``nbgrader.grade_id``: the export names a
    cell after its first id, so the names are the same whether the solution carries today's or former ids."""
    solution = nbformat.read(SOLUTIONS / lesson, as_version=4)
    old, renamed = with_former_ids(solution, former_map(lesson))
    assert renamed > 0
    names = [c.metadata["nbgrader"]["grade_id"] for c in nbgrader_source(solution, lesson).cells]
    old_names = [c.metadata["nbgrader"]["grade_id"] for c in nbgrader_source(old, lesson).cells]
    assert names == old_names
    former = set(former_map(lesson))
    assert any(n.split("-", 1)[1] in former for n in names if n.startswith(("answer-", "cell-")))
