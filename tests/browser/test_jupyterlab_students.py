"""The student notebooks (notebooks/) in JupyterLab, with the checks test_jupyterlab.py runs on the solutions.

Two files, so that pytest-xdist hands each half of the browser work to a worker of its own.
"""

from __future__ import annotations

import pytest
import test_jupyterlab as lab_checks
from browser_env import ROOT
from course_files import course_notebooks

# test_jupyterlab.py's checks, collected here for the notebooks below, in that file's order (a drag test then
# finds the page as it does there)
test_runs_without_unexpected_errors = lab_checks.test_runs_without_unexpected_errors
test_widgets_render = lab_checks.test_widgets_render
test_sliders_drive_their_output = lab_checks.test_sliders_drive_their_output
test_every_slider_answers_while_dragged = lab_checks.test_every_slider_answers_while_dragged

NOTEBOOKS = [p for p in course_notebooks(ROOT) if p.startswith("notebooks/")]


@pytest.fixture(scope="module", params=NOTEBOOKS)
def run(request, lab, lab_page, timings):
    """One student notebook, run in JupyterLab (``run_in_lab``)."""
    yield from lab_checks.run_in_lab(request.param, lab, lab_page, timings)
