"""The Gradescope autograder: export, the harness that emulates Gradescope's contract, and results.json.

What it runs (the cost is printed with -s; see the report of the change for measured times): one export (a wheel),
one ``setup.sh`` (a venv with the pinned requirements from pip's cache; every lesson's zip shares it), the full
harness on lessons 02 and 05 (solution, untouched, a hostile notebook; malformed submissions and a refused
isolation, which start no kernel; the grader's hostile toy fixtures), and the cheap path (``run_autograder``'s
Python entry on this machine, two at a time) for the other lessons' solution and untouched notebooks and five
mistake fixtures, the mistakes compared item by item with one ``lora-course grade`` batch of the same notebooks.
The forge-proof grader's fixtures go through ``run_autograder`` in tests/test_gradescope_forge.py; one of its
attacks (a LoRA delegated to another program) also goes through the full harness here.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import nbformat
import pytest
from fencing import requires_fence
from grading_cache import sharing
from test_grading_hostile import EXPECTED as HOSTILE_EXPECTED
from test_grading_hostile import NAME as TOY
from test_grading_hostile import build as build_hostile
from test_grading_lessons import MISTAKES as PROJECT_MISTAKES
from test_grading_lessons import REFERENCE_USE, with_cell_after
from test_grading_tasks import MISTAKES as TASK_MISTAKES

from lora_course.authoring.student import BEGIN_HIDDEN, END_HIDDEN
from lora_course.cli.main import main
from lora_course.gradescope import harness
from lora_course.gradescope.export import Settings, export, graded_lessons, pinned_requirements
from lora_course.gradescope.results import clean, failed_submission, item_test, results, schema
from lora_course.grading.items import GradedItem, items_from_solution

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS, NOTEBOOKS = ROOT / "solutions", ROOT / "notebooks"
LESSONS = {p.name[:2]: p.name for p in graded_lessons(SOLUTIONS)}      # whatever solutions/ holds, graded
HEAVY = ("02", "05")                                                   # through setup.sh and the container

pytestmark = requires_fence


def items(name: str) -> list[GradedItem]:
    return items_from_solution(nbformat.read(SOLUTIONS / name, as_version=4), name)


def validate(content: dict) -> None:
    jsonschema.Draft202012Validator(schema()).validate(content)


def by_item(content: dict) -> dict[str, str]:
    """grade id -> points as the CSV writes them ('' for an item graded by hand)."""
    return {t["extra_data"]["grade_id"]: "" if t["extra_data"]["kind"] == "manual" else f"{t['score']:g}"
            for t in content["tests"]}


def secrets_of(name: str) -> list[str]:
    """What must never reach a student: answer keys, model answers, hidden tests of the lesson's solution."""
    out = [i.key for i in items(name) if i.key] + [i.model_answer[:80] for i in items(name) if len(i.model_answer) > 20]
    for cell in nbformat.read(SOLUTIONS / name, as_version=4).cells:
        if BEGIN_HIDDEN in cell.source:
            inside = cell.source.split(BEGIN_HIDDEN, 1)[1].split(END_HIDDEN, 1)[0]
            out += [line.strip() for line in inside.splitlines() if len(line.strip()) > 20]
    return out


# ---------------------------------------------------------------------------------------------- submissions

def notebook_with_cell(name: str, after: str, source: str) -> nbformat.NotebookNode:
    nb = nbformat.read(SOLUTIONS / name, as_version=4)
    index = [c.get("id") for c in nb.cells].index(after)
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source.strip()))
    return nb


# Reads the rubric, tries to write results.json, and leaves a daemon that keeps trying: the score stays honest.
HOSTILE = '''
import os, subprocess, sys
try:
    forward_seen = open("/autograder/source/solution/NOTEBOOK").read()[:150]
except Exception as err:
    forward_seen = f"refused: {type(err).__name__}"
for path in ("/autograder/results/results.json", "/autograder/source/lora_gradescope.json"):
    try:
        open(path, "w").write('{"score": 1000, "tests": []}')
    except Exception:
        pass
subprocess.Popen([sys.executable, "-c", "import time\\nfor _ in range(600):\\n    time.sleep(0.05)\\n    try:\\n"
                  "        open('/autograder/results/results.json', 'w').write('{}')\\n    except Exception:\\n"
                  "        pass"], start_new_session=True)
'''


def fixture_notebooks() -> dict[str, tuple[str, nbformat.NotebookNode]]:
    """student -> (lesson notebook, notebook) for the item-by-item comparison on the cheap path."""
    out = {}
    for nn, name in LESSONS.items():
        if nn not in HEAVY:
            out[f"solution_{nn}"] = (name, nbformat.read(SOLUTIONS / name, as_version=4))
            out[f"untouched_{nn}"] = (name, nbformat.read(NOTEBOOKS / name, as_version=4))
    for student in ("t01_squares", "t02_divided_by_n", "t04_broadcast_in_place"):
        name, after, source = TASK_MISTAKES[student]
        nb = nbformat.read(SOLUTIONS / name, as_version=4)      # the mistake inside the answer cell: graded alone
        nb.cells[[c.get("id") for c in nb.cells].index(after)].source += "\n\n" + source.strip() + "\n"
        out[student] = (name, nb)
    project = nbformat.read(SOLUTIONS / "05_project.ipynb", as_version=4)
    out["scale_alpha"] = ("05_project.ipynb", with_cell_after(project, *PROJECT_MISTAKES["scale_alpha"]))
    out["ref_alias"] = ("05_project.ipynb", with_cell_after(project, "class LoRA", REFERENCE_USE["ref_alias"]))
    return out


# ---------------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def zips(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("export")
    written = export(ROOT, out)
    assert [p.parent.name for p in written] == [f"lesson{nn}" for nn in LESSONS]
    print(f"\nzip sizes: {', '.join(f'{p.parent.name} {p.stat().st_size / 1e6:.2f} MB' for p in written)}")
    return {p.parent.name[-2:]: p for p in written}


def member_of(zip_path: Path, member: str, lesson: str) -> bytes:
    with zipfile.ZipFile(zip_path) as zf:
        return zf.read(member).replace(lesson.encode(), b"LESSON")


def use_lesson(tree: Path, zip_path: Path, **config) -> None:
    """Put another lesson's zip into a tree whose setup already ran (the zips share setup.sh, wheel and pins)."""
    shutil.rmtree(tree / "source")
    harness.unpack(zip_path, tree / "source")
    if config:
        path = tree / "source" / "lora_gradescope.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), **config}))


@pytest.fixture(scope="module")
def tree(zips, tmp_path_factory) -> Path:
    """One /autograder tree after setup.sh (in the docker-like container, pip's cache shared)."""
    for nn in zips:                   # one setup serves every lesson: the zips differ only in the lesson
        for member in ("setup.sh", "requirements.txt", "run_autograder"):
            assert member_of(zips[nn], member, LESSONS[nn]) == member_of(zips[HEAVY[0]], member, LESSONS[HEAVY[0]])
    tree = harness.prepare(zips[HEAVY[0]], tmp_path_factory.mktemp("gradescope"))
    cache = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"], capture_output=True, text=True).stdout
    seconds, log = harness.setup(tree, "docker", Path(cache.strip()) if cache.strip() else None)
    print(f"\nsetup.sh: {seconds:.0f} s with pip's cache")
    assert "selfcheck: lora-course" in log and "every pinned requirement" in log, log[-2000:]
    return tree


def through_harness(tree: Path, zips, nn: str, files: dict[str, bytes | nbformat.NotebookNode], tmp: Path,
                    container: str = "docker", **config) -> dict:
    use_lesson(tree, zips[nn], **config)
    sub = tmp / f"sub-{nn}-{len(list(tmp.iterdir()))}"
    sub.mkdir()
    for fname, content in files.items():
        if isinstance(content, bytes):
            (sub / fname).write_bytes(content)
        else:
            nbformat.write(content, sub / fname)
    content, seconds, log = harness.grade(tree, sub, container)
    assert content is not None, log[-3000:]
    print(f"\nrun_autograder {nn} ({container}): {seconds:.1f} s; {content['output'].splitlines()[1][:60]}")
    validate(content)
    for secret in secrets_of(LESSONS[nn]):
        assert secret not in json.dumps(content) and secret not in content["output"], secret
    return content


@pytest.fixture(scope="module")
def cheap(zips, tmp_path_factory) -> dict[str, tuple[dict, dict]]:
    """student -> (results.json from run_autograder's entry on this machine, the CSV row of lora-course grade; the
    solutions and untouched notebooks get no row: their expectation is every point and none)."""
    tmp = tmp_path_factory.mktemp("cheap")
    subs = tmp / "subs"
    cases = fixture_notebooks()
    roots = {}
    for student, (name, nb) in cases.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / name)
        root = tmp / "trees" / student
        harness.unpack(zips[name[:2]], root / "source")
        shutil.copytree(subs / student, root / "submission")
        roots[student] = root

    def autograde(root: Path) -> dict:
        subprocess.run([sys.executable, "-m", "lora_course.gradescope.autograder", "--root", str(root)],
                       check=True, capture_output=True)
        return json.loads((root / "results" / "results.json").read_text())

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = dict(zip(roots, pool.map(autograde, roots.values()), strict=True))
    for student in cases:
        if student.startswith(("solution_", "untouched_")):
            shutil.rmtree(subs / student)
    out = tmp / "grades.csv"
    with sharing(tmp_path_factory):      # the same mistakes as the grading tests grade
        assert main(["grade", str(subs), "--out", str(out), "--jobs", "2", "--timeout", "120", "--no-progress"]) == 0
    rows = list(csv.reader(out.open()))
    csv_rows = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    return {student: (done[student], csv_rows.get(student)) for student in cases}


# ---------------------------------------------------------------------------------------------- export

def test_each_graded_lesson_gets_a_zip_in_gradescopes_layout(zips):
    assert sorted(zips) == sorted(LESSONS) and {"00", "01", "02", "03", "04", "05"} <= set(zips)
    for nn, path in zips.items():
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            assert {"setup.sh", "run_autograder", "lora_gradescope.json", "requirements.txt",
                    f"solution/{LESSONS[nn]}"} <= names
            wheels = [n for n in names if n.startswith("wheels/") and n.endswith(".whl")]
            assert len(wheels) == 1 and "lora_course-" in wheels[0]
            for script in ("setup.sh", "run_autograder"):
                assert (zf.getinfo(script).external_attr >> 16) & 0o111 == 0o111, f"{script} is not executable"
            config = json.loads(zf.read("lora_gradescope.json"))
            assert config["notebook"] == LESSONS[nn] and config["isolation"] == "auto"


def test_requirements_pin_this_environments_exact_versions():
    from importlib import metadata

    pins = dict(line.split("==") for line in pinned_requirements())
    assert {"numpy", "nbclient", "ipykernel", "matplotlib"} <= set(pins)
    assert "jupyterlab" not in pins and "lora-course" not in pins
    assert all(metadata.version(name) == version for name, version in pins.items())


def test_export_choices_are_checked():
    assert [p.name for p in graded_lessons(SOLUTIONS, ["05"])] == ["05_project.ipynb"]
    for bad in (["5"], ["99"]):
        with pytest.raises(ValueError, match="--only"):
            graded_lessons(SOLUTIONS, bad)
    for bad in ({"cell_seconds": 0}, {"isolation": "root"}, {"visibility": "students"}):
        with pytest.raises(ValueError):
            Settings(**bad)


def test_the_commands_say_what_they_expected(tmp_path, capsys):
    assert main(["gradescope-run", str(tmp_path / "none.zip"), str(tmp_path)]) == 2
    assert "ZIP: expected an autograder.zip file" in capsys.readouterr().err
    (tmp_path / "a.zip").write_bytes(b"")
    assert main(["gradescope-run", str(tmp_path / "a.zip"), str(tmp_path / "missing")]) == 2
    assert "SUBMISSION_DIR: expected a folder" in capsys.readouterr().err
    assert main(["gradescope-export", str(tmp_path), "--only", "5"]) == 2
    assert "--only: expected two-digit lesson numbers" in capsys.readouterr().err


def test_each_student_gets_inputs_of_their_own_that_a_regrade_keeps(tmp_path):
    from lora_course.gradescope.autograder import submitter

    assert submitter(tmp_path) == "submission"                       # no metadata: the local harness
    names = []
    for ids in ([111], [222], [222], [333, 111]):
        (tmp_path / "submission_metadata.json").write_text(json.dumps({"users": [{"id": i} for i in ids]}))
        names.append(submitter(tmp_path))
    assert names[1] == names[2] and len(set(names)) == 3 and all(n.startswith("student-") for n in names)
    (tmp_path / "submission_metadata.json").write_text("{not json")
    assert submitter(tmp_path) == "submission"


def test_export_never_replaces_a_file_it_did_not_write(tmp_path):
    target = tmp_path / "lesson05" / "autograder.zip"
    target.parent.mkdir()
    target.write_text("my notes")
    with pytest.raises(ValueError, match="expected a zip written by this command"):
        export(ROOT, tmp_path, only=["05"])
    assert target.read_text() == "my notes"


# ---------------------------------------------------------------------------------------------- results

def test_feedback_text_is_plain_and_points_stay_in_range():
    item = GradedItem("x.ipynb", "x-1", 2, "auto", "c1", target="answer_x", key="lc1:secret")
    assert clean("\x1b[31mred\x1b[0m\x00 text\n") == "[31mred[0m text"
    assert item_test(item, {"score": 5, "result": "correct"}, "visible")["score"] == 2.0
    low = item_test(item, {"score": -1, "result": "wrong", "message": "m", "hint": "h"}, "visible")
    assert low["score"] == 0.0 and low["status"] == "failed" and "Hint: h" in low["output"]
    assert item_test(item, None, "visible")["output"].startswith("not graded")
    manual = GradedItem("x.ipynb", "x-2", 3, "manual", "c2", model_answer="the model answer")
    text = json.dumps(results([item, manual], {"x-2": {"score": None, "result": "to grade by hand"}}, ["h"], 1.5))
    assert "the model answer" not in text and "lc1:secret" not in text
    validate(results([item, manual], {}, ["header"], 1.5))
    validate(failed_submission([item], "no notebook", ["header"], 0.1))
    with pytest.raises(ValueError, match="visibility"):
        results([item], {}, [], 1.0, visibility="everyone")


# ---------------------------------------------------------------------------------------------- full harness

def auto_points(name: str) -> float:
    return sum(i.points for i in items(name) if i.kind != "manual")


@pytest.mark.parametrize("nn", HEAVY)
def test_in_the_container_the_solution_gets_full_marks_and_the_untouched_notebook_zero(tree, zips, nn,
                                                                                      tmp_path):
    name = LESSONS[nn]
    solution = through_harness(tree, zips, nn, {name: nbformat.read(SOLUTIONS / name, as_version=4)}, tmp_path)
    assert solution["score"] == auto_points(name)
    assert all(t["status"] == "passed" for t in solution["tests"] if t["max_score"] > 0)
    assert len(solution["tests"]) == len(items(name))
    assert "isolation none" in solution["output"] and "Status: ok." in solution["output"]
    untouched = through_harness(tree, zips, nn, {name: nbformat.read(NOTEBOOKS / name, as_version=4)}, tmp_path)
    assert untouched["score"] == 0 and "Status: ok." in untouched["output"]
    assert all(t["score"] == 0 for t in untouched["tests"])


def test_where_the_container_allows_bubblewrap_it_is_used(tree, zips, tmp_path):
    name = LESSONS["02"]
    content = through_harness(tree, zips, "02", {name: nbformat.read(SOLUTIONS / name, as_version=4)}, tmp_path,
                              container="privileged")
    assert "isolation bwrap" in content["output"] and content["score"] == auto_points(name)


def test_a_hostile_notebook_neither_reads_the_rubric_nor_forges_results(tree, zips, tmp_path):
    name = LESSONS["05"]
    target = [i for i in items(name) if i.kind == "auto"][-1]       # no later answer is computed from it
    source = HOSTILE.replace("NOTEBOOK", name) + f"\n{target.target} = forward_seen\n"
    nb = notebook_with_cell(name, target.cell_id, source)
    content = through_harness(tree, zips, "05", {name: nb}, tmp_path)
    test = next(t for t in content["tests"] if t["extra_data"]["grade_id"] == target.grade_id)
    assert test["score"] == 0 and "refused: PermissionError" in test["output"], test
    assert content["score"] == auto_points(name) - target.points
    written = (tree / "results" / "results.json").read_text()
    time.sleep(1.0)
    assert (tree / "results" / "results.json").read_text() == written
    assert json.loads((tree / "source" / "lora_gradescope.json").read_text())["notebook"] == name


def test_a_submission_that_is_not_one_readable_notebook_gets_one_clear_failed_test(tree, zips, tmp_path):
    name = LESSONS["02"]
    nb = nbformat.read(SOLUTIONS / name, as_version=4)
    cases = {
        "could not be graded": {name: b'{"cells": [ broken'},
        "found none": {"answer.py": b"print(1)"},
        "found 2": {name: nb, "copy.ipynb": nb},
    }
    for words, files in cases.items():
        content = through_harness(tree, zips, "02", files, tmp_path)
        assert len(content["tests"]) == 1 and content["score"] == 0, content
        test = content["tests"][0]
        assert test["status"] == "failed" and test["max_score"] == auto_points(name)
        assert words in test["output"], (words, test["output"])


def test_an_isolation_the_container_refuses_is_never_a_silent_downgrade(tree, zips, tmp_path):
    name = LESSONS["02"]
    content = through_harness(tree, zips, "02", {name: nbformat.read(SOLUTIONS / name, as_version=4)}, tmp_path,
                              isolation="bwrap")
    assert len(content["tests"]) == 1 and content["score"] == 0
    assert "isolation bwrap" in content["tests"][0]["output"] and "setting of the assignment" in \
        content["tests"][0]["output"]


# the grader's own hostile fixtures that forge, read or leave traces: through the container (isolation none) too
HOSTILE_IN_CONTAINER = ("a_solution", "j_monkeypatch", "k_fake_result", "l_reads_solutions", "p_print_hook",
                        "r_settrace", "s_reads_elsewhere", "t_leaves_traces")


def test_the_graders_hostile_fixtures_keep_their_honest_scores_in_the_container(tree, zips, tmp_path):
    solutions, subs, _ = build_hostile(tmp_path)
    use_lesson(tree, zips["02"], notebook=TOY, limits={"cell_seconds": 5, "notebook_seconds": 15, "memory_mb": 1536})
    (tree / "source" / "solution" / LESSONS["02"]).unlink()
    shutil.copy(solutions / TOY, tree / "source" / "solution" / TOY)
    toy_items = items_from_solution(nbformat.read(solutions / TOY, as_version=4), TOY)
    for student in HOSTILE_IN_CONTAINER:
        content, seconds, log = harness.grade(tree, subs / student, "docker")
        assert content is not None, log[-3000:]
        validate(content)
        scores, status, _ = HOSTILE_EXPECTED[student]
        expected = dict(zip(["toy-scale", "toy-params", "toy-why", "toy-shape"], scores, strict=True))
        assert by_item(content) == {i.grade_id: expected[i.grade_id] for i in toy_items}, (student, content)
        assert f"Status: {status}" in content["output"] and "isolation none" in content["output"], student


# ---------------------------------------------------------------------------------------------- cheap path

@pytest.mark.parametrize("student", sorted(fixture_notebooks()))
def test_run_autograder_gives_the_points_of_lora_course_grade_item_by_item(cheap, student):
    content, row = cheap[student]
    validate(content)
    name = fixture_notebooks()[student][0]
    for secret in secrets_of(name):
        assert secret not in json.dumps(content), secret
    if student.startswith("solution_"):
        row = {i.grade_id: "" if i.kind == "manual" else f"{i.points:g}" for i in items(name)}
        assert "isolation bwrap" in content["output"] and "Status: ok." in content["output"]
    elif student.startswith("untouched_"):
        row = {i.grade_id: "" if i.kind == "manual" else "0" for i in items(name)}
        assert "Status: ok." in content["output"]
    else:                                                      # a mistake: lora-course grade's row, item by item
        assert 0 < content["score"] < auto_points(name)
    assert by_item(content) == {i.grade_id: row[i.grade_id] for i in items(name)}, row.get("status")
    assert content["score"] == sum(float(row[i.grade_id] or 0) for i in items(name))


def test_a_lora_delegated_to_another_program_gets_its_honest_score_in_the_container(tree, zips, tmp_path):
    """The forge-proof grader's course through the full harness (setup.sh's venv, the Docker-like container, so
    isolation none, where the package's files are readable): a LoRA whose methods run the package's reference in
    another program earns nothing on the LoRA checks, and the student's own forward keeps its points."""
    from forge_fixtures import ITEMS, solution, submission
    from forge_fixtures import NAME as FORGE
    from test_gradescope_forge import DELEGATE

    use_lesson(tree, zips["05"], notebook=FORGE, limits={"cell_seconds": 30, "notebook_seconds": 120,
                                                          "memory_mb": 2048})
    (tree / "source" / "solution" / LESSONS["05"]).unlink()
    nbformat.write(solution(), tree / "source" / "solution" / FORGE)
    (tmp_path / "sub").mkdir()
    nbformat.write(submission({"lora-task": DELEGATE}), tmp_path / "sub" / FORGE)
    content, _, log = harness.grade(tree, tmp_path / "sub", "docker")
    assert content is not None, log[-3000:]
    validate(content)
    assert "isolation none" in content["output"] and "Status: ok." in content["output"], content["output"]
    assert [by_item(content)[g] for g in ITEMS] == ["0", "0", "0", "0", "0", "2"], content["output"]
    assert "starting another program is not available while grading" in json.dumps(content)
