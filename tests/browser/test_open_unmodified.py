"""Opening a lesson in JupyterLab must not mark it modified (no "unsaved changes" before the student typed).

JupyterLab rewrites a notebook's kernelspec and language_info when its kernel starts; if they differ from
what is stored, the notebook counts as modified. `lora-course lab` copies the lessons with the local kernel's
metadata. The control (a copy with the display name 'Python 3' that notebooks carried before) must be
marked modified, so that the check is seen to fail when it should.

A student may hold a copy from before the course renamed its cells: such a copy (lesson 02's solution with
the former cell ids its solution records) opens unmodified too, keeps its ids when JupyterLab saves it, and
the saved file gets every auto-graded point from ``lora-course grade``.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time

import nbformat
from browser_env import ROOT
from former_ids import former_map, with_former_ids
from lab_notebook import LabNotebook, open_lab
from lab_server import LabServer

from lora_course.grading.items import items_from_solution
from lora_course.support.workspace import copy_lessons, kernel_metadata

LESSON, CONTROL = "00_why_lora.ipynb", "control.ipynb"
FORMER = "02_reparameterization.ipynb"   # its task cells were renamed; the solution records their former ids
JS_KERNEL_SETTLED = """({path}) => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w && w.context.path === path && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!(k && k.status === 'idle' && w.context.model.getMetadata('kernelspec'));
}"""
JS_DIRTY = "() => window.jupyterapp.shell.currentWidget.context.model.dirty"


def _dirty_after_opening(page, server, path: str, ncells: int) -> bool:
    notebook = LabNotebook(page, server, path, ncells=ncells)
    notebook.open()
    try:
        page.wait_for_function(JS_KERNEL_SETTLED, arg={"path": path}, timeout=60_000, polling=100)
        page.wait_for_timeout(2_000)  # the metadata update follows the kernel_info reply
        return bool(page.evaluate(JS_DIRTY))
    finally:
        notebook.close()


def test_opening_a_lesson_does_not_mark_it_modified(tmp_path, browser):
    copy_lessons(ROOT / "notebooks", tmp_path)
    nb = nbformat.read(tmp_path / LESSON, as_version=4)
    nb.metadata.kernelspec.display_name = "Python 3"  # the control: the kernelspec notebooks carried before
    nbformat.write(nb, tmp_path / CONTROL)
    with LabServer(tmp_path) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            page = context.new_page()
            open_lab(page, server)
            dirty = {name: _dirty_after_opening(page, server, name, len(nb.cells)) for name in (LESSON, CONTROL)}
        finally:
            context.close()
    stored = json.loads((tmp_path / LESSON).read_text())["metadata"]["kernelspec"]
    assert dirty[CONTROL], "the control should be marked modified: the check cannot see a change"
    assert not dirty[LESSON], f"opening {LESSON} (kernelspec {stored}) marked it modified"


def _former_id_copy(folder) -> nbformat.NotebookNode:
    """Lesson 02's solution as a course version before the cell renames had it, with this kernel's metadata."""
    nb, renamed = with_former_ids(nbformat.read(ROOT / "solutions" / FORMER, as_version=4), former_map(FORMER))
    assert renamed > 0
    nb.metadata.update(json.loads(json.dumps(kernel_metadata())))
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / FORMER)
    return nb


def test_a_copy_with_the_former_cell_ids_opens_unmodified_keeps_its_ids_when_saved_and_grades(tmp_path, browser):
    student = tmp_path / "student"
    nb = _former_id_copy(student)
    former_ids = [c.id for c in nb.cells]
    with LabServer(student) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            page = context.new_page()
            open_lab(page, server)
            notebook = LabNotebook(page, server, FORMER, ncells=len(nb.cells))
            notebook.open()
            try:
                page.wait_for_function(JS_KERNEL_SETTLED, arg={"path": FORMER}, timeout=60_000, polling=100)
                page.wait_for_timeout(2_000)
                dirty = bool(page.evaluate(JS_DIRTY))
                page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
                deadline = time.monotonic() + 30
                while not server.saves() and time.monotonic() < deadline:
                    page.wait_for_timeout(200)
                saves = server.saves()
            finally:
                notebook.close()
        finally:
            context.close()
    assert not dirty, f"opening {FORMER} with its former cell ids marked it modified"
    assert saves, "JupyterLab did not save the notebook"
    saved = json.loads((student / FORMER).read_text())
    assert [c["id"] for c in saved["cells"]] == former_ids, "JupyterLab changed the cell ids when saving"

    # Graded in a process of its own: Playwright's event loop runs in this one (tests/conftest.py).
    (tmp_path / "submissions" / "student").mkdir(parents=True)
    (student / FORMER).rename(tmp_path / "submissions" / "student" / FORMER)
    out = tmp_path / "grades.csv"
    grade = subprocess.run([sys.executable, "-m", "lora_course.cli.main", "grade", str(tmp_path / "submissions"),
                            "--out", str(out),
                            "--jobs", "1", "--timeout", "120", "--no-progress"],
                           cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert grade.returncode == 0, grade.stdout + grade.stderr
    header, *rows = list(csv.reader(out.open()))
    row = dict(zip(header, rows[0], strict=True))
    items = items_from_solution(nbformat.read(ROOT / "solutions" / FORMER, as_version=4), FORMER)
    auto = [i for i in items if i.kind != "manual"]
    assert auto and {i.grade_id: row[i.grade_id] for i in auto} == {i.grade_id: f"{i.points:g}" for i in auto}, row
