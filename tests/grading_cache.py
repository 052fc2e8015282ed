"""One student's one notebook, graded once per test run however many test files grade it (tests/shared_cache.py).

Several test files grade the very same submission with the same options: test_gradescope.py compares the
Gradescope entry with ``lora-course grade`` on mistakes that test_grading_tasks.py and test_grading_lessons.py
grade too. Inside :func:`sharing`, ``grading.batch.grade_notebook`` looks its result up first, in this process and
in the batch's worker processes alike. The key holds everything the result depends on:

- the student's name (it seeds the project checks' inputs) and the notebook's name;
- every file of the student's folder, by relative path and bytes (the kernel sees a copy of the folder);
- the solution notebook and the items read from it, the seed, the checks module;
- the sandbox's settings (isolation, every limit, the extra read-only paths), all but the uid, which is drawn at
  random per batch and changes nothing a notebook can be graded on;
- the source of the ``lora_course`` package and the interpreter (shared_cache.key_of).

Only files whose students are plain submissions use it: the files that attack the grader (forge, hostile,
red team) grade everything themselves, and so does any test that grades the same input twice to compare.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from shared_cache import Store, run_folder

import lora_course.grading.batch as batch

ENV = "LORA_COURSE_TEST_SHARED_RESULTS"     # the store's folder, for the batch's worker processes
NAMESPACE = "grade-notebook"
_grade_notebook = batch.grade_notebook
_grade_student = batch.grade_student


def folder_digest(folder: Path) -> str:
    """sha256 over every entry of the student's folder: relative path, then bytes (a link: its target)."""
    h = hashlib.sha256()
    folder = Path(folder)
    if not folder.is_dir():
        return "no folder"
    for path in sorted(folder.rglob("*")):
        h.update(str(path.relative_to(folder)).encode() + b"\0")
        if path.is_symlink():
            h.update(b"link:" + os.readlink(path).encode())
        elif path.is_file():
            h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def notebook_inputs(plan: batch.Plan, student: str, folder: Path, name: str) -> list:
    """What ``grade_notebook(plan, student, folder, name, job)`` depends on (the module docstring's list)."""
    sandbox = dataclasses.asdict(plan.sandbox)
    del sandbox["uid"]
    return [student, name, folder_digest(folder), json.dumps(plan.solutions.get(name), sort_keys=True, default=repr),
            repr(plan.items.get(name)), plan.seed, plan.checks_module, sandbox]


def shared_grade_notebook(plan, student, folder, name, job, checks=None):
    """``grade_notebook``, its result read from the store when these inputs were graded before in this run."""
    if checks is not None or not os.environ.get(ENV):
        return _grade_notebook(plan, student, folder, name, job, checks)
    store = Store(Path(os.environ[ENV]))
    return store.get_or_compute(NAMESPACE, notebook_inputs(plan, student, Path(folder), name),
                                lambda: _grade_notebook(plan, student, folder, name, job), as_pickle=True)


def shared_grade_student(plan, student_dir, index):
    """``grade_student`` with :func:`shared_grade_notebook` (what the batch's worker processes are handed)."""
    batch.grade_notebook = shared_grade_notebook
    return _grade_student(plan, student_dir, index)


@contextmanager
def sharing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Within: ``lora-course grade`` (``grading.batch``) reads and stores each notebook's result in the run's store."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV, str(run_folder(tmp_path_factory.getbasetemp())))
        mp.setattr(batch, "grade_student", shared_grade_student)
        mp.setattr(batch, "grade_notebook", shared_grade_notebook)
        yield
