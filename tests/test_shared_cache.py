"""The run's shared results (tests/shared_cache.py) and what reads them: each is keyed by every input it depends on.

Changing one input (a byte of the notebook, one grader option, the seed, the student, the package's source) gives
a fresh result; the same inputs give the stored one, as a new object; two workers take turns on one key.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import grading_cache
import nbformat
import pytest
import shared_cache
from shared_cache import Store, key_of, package_digest
from solution_answers import cache_inputs

from lora_course.grading.batch import NotebookResult, Plan
from lora_course.grading.sandbox import Limits, Sandbox

ROOT = Path(__file__).resolve().parent.parent
LESSON = "01_rank.ipynb"


def counted(value):
    calls = []

    def compute():
        calls.append(1)
        return value

    return compute, calls


def test_a_result_is_computed_once_and_read_back_as_a_new_object(tmp_path):
    store = Store(tmp_path)
    compute, calls = counted({"answer_x": [1, 2]})
    first = store.get_or_compute("ns", ["a"], compute)
    first["answer_x"].append(3)                              # a test that changes what it got changes nothing stored
    second = store.get_or_compute("ns", ["a"], compute)
    assert second == {"answer_x": [1, 2]} and len(calls) == 1 and (store.computed, store.read) == (1, 1)
    assert store.get_or_compute("ns", ["b"], compute) == {"answer_x": [1, 2]} and len(calls) == 2
    assert store.get_or_compute("other", ["a"], compute) and len(calls) == 3, "a namespace is part of the key"


def test_a_second_worker_waits_for_the_key_another_holds(tmp_path):
    held = Store(tmp_path).hold("ns", ["a"])
    with pytest.raises(BlockingIOError):
        Store(tmp_path).hold("ns", ["a"], blocking=False)
    Store(tmp_path).hold("ns", ["b"], blocking=False).release()      # another key is free
    held.release()
    Store(tmp_path).hold("ns", ["a"], blocking=False).release()


def test_the_package_source_is_part_of_every_key(tmp_path, monkeypatch):
    package = tmp_path / "lora_course"
    shutil.copytree(ROOT / "lora_course" / "grading", package / "grading",
                    ignore=shutil.ignore_patterns("__pycache__"))
    before = package_digest.__wrapped__(package)
    path = package / "grading" / "verdict.py"
    path.write_bytes(path.read_bytes() + b"\n")
    assert package_digest.__wrapped__(package) != before, "one byte more in one module"
    key = key_of("ns", ["a"])
    monkeypatch.setattr(shared_cache, "package_digest", lambda: "another version of the package")
    assert key_of("ns", ["a"]) != key


def test_one_byte_of_a_solution_notebook_gives_its_answers_a_fresh_key(tmp_path):
    copy = tmp_path / LESSON
    shutil.copy(ROOT / "solutions" / LESSON, copy)
    namespace, parts = cache_inputs(copy)
    nb = nbformat.read(copy, as_version=4)
    markdown = next(c for c in nb.cells if c.cell_type == "markdown")
    markdown.source += "."
    nbformat.write(nb, copy)
    store, (compute, calls) = Store(tmp_path), counted({"answer_full": 1})
    store.get_or_compute(namespace, parts, compute)
    store.get_or_compute(*cache_inputs(copy), compute)
    store.get_or_compute(*cache_inputs(copy), compute)
    assert cache_inputs(copy)[1] != parts and len(calls) == 2


def test_a_graded_notebook_is_keyed_by_every_input_of_the_grader(tmp_path, monkeypatch):
    """grading_cache: the same submission and options read the stored result; a byte of the notebook, a limit, the
    seed, the student or the solution give a fresh one; the uid (drawn at random per batch) does not."""
    graded = []

    def fake_grade_notebook(plan, student, folder, name, job, checks=None):
        graded.append((student, name))
        return NotebookResult(name, notes=[f"graded {len(graded)}"])

    monkeypatch.setattr(grading_cache, "_grade_notebook", fake_grade_notebook)
    monkeypatch.setenv(grading_cache.ENV, str(tmp_path / "store"))
    (tmp_path / "store").mkdir()
    solution = nbformat.read(ROOT / "solutions" / LESSON, as_version=4)
    plan = Plan({LESSON: dict(solution)}, {LESSON: ()}, Sandbox(limits=Limits(cell_seconds=120)), str(tmp_path))
    folder = tmp_path / "subs" / "alice"
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / LESSON, folder / LESSON)

    def grade(plan=plan, student="alice"):
        return grading_cache.shared_grade_notebook(plan, student, folder, LESSON, tmp_path / "job")

    first = grade()
    first.notes.append("changed by a test")
    assert grade().notes == ["graded 1"] and len(graded) == 1, "stored, and read back as a new object"
    assert grade(dataclasses.replace(plan, sandbox=dataclasses.replace(plan.sandbox, uid=61999))).notes == \
        ["graded 1"], "the uid is not an input"
    fresh = {
        "a limit": dataclasses.replace(plan, sandbox=Sandbox(limits=Limits(cell_seconds=60))),
        "the memory limit": dataclasses.replace(plan, sandbox=Sandbox(limits=Limits(cell_seconds=120,
                                                                                     memory_mb=1024))),
        "the isolation": dataclasses.replace(plan, sandbox=Sandbox(isolation="none", limits=Limits(cell_seconds=120))),
        "the seed": dataclasses.replace(plan, seed=1),
        "the solution": dataclasses.replace(plan, solutions={LESSON: {**dict(solution), "metadata": {}}}),
    }
    for count, (what, changed) in enumerate(fresh.items(), start=2):
        assert grade(changed).notes == [f"graded {count}"], what
    assert grade(student="bob").notes == [f"graded {len(fresh) + 2}"], "the student's name seeds the inputs"
    data = (folder / LESSON).read_bytes()
    (folder / LESSON).write_bytes(data.replace(b"}", b" }", 1))
    assert grade().notes == [f"graded {len(fresh) + 3}"], "one byte more in the submitted notebook"
    (folder / "data.txt").write_text("a file beside the notebook")
    assert grade().notes == [f"graded {len(fresh) + 4}"], "another file the kernel would see"
    assert len(graded) == len(fresh) + 4


def test_without_the_store_every_notebook_is_graded(tmp_path, monkeypatch):
    graded = []
    monkeypatch.setattr(grading_cache, "_grade_notebook", lambda *args: graded.append(args) or NotebookResult("x"))
    monkeypatch.delenv(grading_cache.ENV, raising=False)
    plan = Plan({LESSON: {}}, {LESSON: ()}, Sandbox(), str(tmp_path))
    for _ in range(2):
        grading_cache.shared_grade_notebook(plan, "alice", tmp_path, LESSON, tmp_path / "job")
    assert len(graded) == 2
