"""Opening a lesson in JupyterLab must not mark it modified (no "unsaved changes" before the student typed).

JupyterLab rewrites a notebook's kernelspec and language_info when its kernel starts; if they differ from
what is stored, the notebook counts as modified. `lora-course lab` copies the lessons with the local kernel's
metadata. The control (a copy with the display name 'Python 3' that notebooks carried before) must be
marked modified, so that the check is seen to fail when it should.
"""

from __future__ import annotations

import json

import nbformat
from browser_env import ROOT
from lab_notebook import LabNotebook, open_lab
from lab_server import LabServer

from lora_course.support.workspace import copy_lessons

LESSON, CONTROL = "00_why_lora.ipynb", "control.ipynb"
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
