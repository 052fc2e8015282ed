"""The browser suite's own checks, tested: the helpers without a browser, the detectors with one.

A check that cannot fail proves nothing, so a notebook is run in a JupyterLab whose widget manager is
switched off (what a student sees when jupyterlab_widgets is missing) and the widget check must object.
(The error and slider checks were tried by hand on broken notebooks; see the lead's report.)
"""

from __future__ import annotations

import json
import socket

import nbformat
import pytest
from course_files import allowed_error_cells, course_notebooks, widget_cells
from lab_notebook import WIDGET_TEXT_FAILURES, LabNotebook, open_lab
from lab_server import LAB_SETTINGS, LabServer, free_port, write_user_settings
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
SLIDER_CELL = ("import ipywidgets as widgets\n"
               "widgets.interact(lambda r=4: print(f'r = {r}'), r=widgets.IntSlider(value=4, min=1, max=8, "
               "description='r'));")


@pytest.mark.parametrize("text", [
    "Loading widget...",
    "interactive(children=(IntSlider(value=4, description='r', max=64, min=1),",
    "IntSlider(value=3, min=1, max=8)",
    "VBox(children=(Output(),))",
    "Error displaying widget: model not found",
])
def test_widget_text_failures_are_recognised(text):
    assert WIDGET_TEXT_FAILURES.search(text), f"{text!r} should count as a widget shown as text"


@pytest.mark.parametrize("text", ["scale = 2.000", "W0 (d, k) = (4096, 4096)", "storage(value) in MB: 12.5",
                                  "LoRA(r=8, alpha=16)"])
def test_ordinary_output_is_not_a_widget_failure(text):
    assert not WIDGET_TEXT_FAILURES.search(text), f"{text!r} is ordinary output, not a widget repr"


def test_allowed_errors_come_from_raises_exception_tags_of_student_notebooks():
    nb = new_notebook(cells=[new_code_cell("1"), new_code_cell("2", metadata={"tags": ["raises-exception"]}),
                             new_markdown_cell("x"), new_code_cell("3", metadata={"tags": ["other"]})])
    assert allowed_error_cells(nb, student=True) == {1}
    assert allowed_error_cells(nb, student=False) == set(), "solution notebooks may not raise anywhere"


def test_widget_cells_are_found_in_stored_or_live_outputs():
    view = {"output_type": "display_data", "data": {"application/vnd.jupyter.widget-view+json": {}}, "metadata": {}}
    text = {"output_type": "stream", "name": "stdout", "text": "hi"}
    stored = {"cells": [{"outputs": [text]}, {"outputs": [view]}, {"cell_type": "markdown"}]}
    live = {"cells": [{"outputs": [view]}, {"outputs": []}, {"cell_type": "markdown"}]}
    assert widget_cells(stored) == [1]
    assert widget_cells(stored, live) == [0, 1]


def test_course_notebooks_lists_both_folders_lesson_by_lesson(tmp_path):
    for name in ("solutions/01_b.ipynb", "solutions/00_a.ipynb", "notebooks/00_a.ipynb", "solutions/notes.ipynb"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("{}")
    assert course_notebooks(tmp_path) == ["notebooks/00_a.ipynb", "solutions/00_a.ipynb", "solutions/01_b.ipynb"]


def test_user_settings_switch_off_autosave_and_windowing(tmp_path):
    write_user_settings(tmp_path)
    tracker = json.loads((tmp_path / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings").read_text())
    docmanager = json.loads((tmp_path / "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings").read_text())
    assert tracker == {"windowingMode": "none"}, tracker
    assert docmanager == {"autosave": False}, "the lab serves the course folder: it must never save into it"
    assert len(list(tmp_path.rglob("*.jupyterlab-settings"))) == len(LAB_SETTINGS)


def test_free_port_is_bindable():
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_widget_check_objects_when_the_widget_manager_is_missing(tmp_path, browser):
    """A lab without the ipywidgets front end shows the slider as its Python repr: the check must say so.

    (The passing side is every course notebook with a widget, checked by test_widgets_render.)
    """
    nb = new_notebook(cells=[new_code_cell(SLIDER_CELL)], metadata={"kernelspec": KERNELSPEC})
    (tmp_path / "probe.ipynb").write_text(nbformat.writes(nb))
    with LabServer(tmp_path, disabled_extensions=("@jupyter-widgets/jupyterlab-manager",)) as server:
        context = browser.new_context(viewport={"width": 1000, "height": 700})
        try:
            page = context.new_page()
            open_lab(page, server)
            notebook = LabNotebook(page, server, "probe.ipynb", ncells=1)
            notebook.open()
            notebook.run_all(set(), timeout_s=60)
            problems = notebook.widget_problems(widget_cells(notebook.notebook_json()), timeout_s=1)
        finally:
            context.close()
    assert server.process is None, "the server should be gone after the with block"
    assert any("cell 0: no rendered widget" in p for p in problems), problems
    assert any("cell 0: widget shown as text:" in p and "interactive(children=" in p for p in problems), problems


RELEASE_ONLY_CELL = ("import ipywidgets as widgets\n"
                     "slider = widgets.IntSlider(value=2, min=1, max=30, description='r', continuous_update={flag})\n"
                     "widgets.interact(lambda r: print(f'r = {{r}}'), r=slider);")


@pytest.mark.parametrize("continuous", [False, True])
def test_drag_check_tells_release_only_sliders_from_live_ones(tmp_path, browser, continuous):
    """The drag check must object to a slider that redraws only on release (continuous_update=False)
    and accept the same slider with continuous updates: the mouse is still held when it looks."""
    nb = new_notebook(cells=[new_code_cell(RELEASE_ONLY_CELL.format(flag=continuous))],
                      metadata={"kernelspec": KERNELSPEC})
    (tmp_path / "drag.ipynb").write_text(nbformat.writes(nb))
    with LabServer(tmp_path) as server:
        context = browser.new_context(viewport={"width": 1000, "height": 700})
        try:
            page = context.new_page()
            open_lab(page, server)
            notebook = LabNotebook(page, server, "drag.ipynb", ncells=1)
            notebook.open()
            notebook.run_all(set(), timeout_s=60)
            notebook.wait_for_widget(0)
            (label, slider), = notebook.sliders(0)
            move = notebook.drag_slider(0, label, slider, timeout_s=3 if not continuous else 10)
        finally:
            context.close()
    assert move.value_after != move.value_before, move
    if continuous:
        assert move.seconds is not None, f"a live slider should change its output while dragged: {move}"
    else:
        assert move.seconds is None, f"a release-only slider cannot change its output while held: {move}"
