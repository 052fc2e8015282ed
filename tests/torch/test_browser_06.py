"""Appendix 06 in JupyterLab in headless Chromium, like the core course's browser tests.

Reuses tests/browser/ (its fixtures, helpers and checks) for the notebooks that need the [torch] extra; collected
only by `make test-torch`. Skips locally without Chromium or playwright, fails under CI=true.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BROWSER = Path(__file__).resolve().parents[1] / "browser"
sys.path.insert(0, str(BROWSER))
_spec = importlib.util.spec_from_file_location("lora_course_browser_conftest", BROWSER / "conftest.py")
_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conftest)

from browser_env import ROOT  # noqa: E402
from course_files import course_notebooks  # noqa: E402
from test_jupyterlab import (  # noqa: E402, F401  (collected here, for the notebooks below)
    run_in_lab,
    test_runs_without_unexpected_errors,
)

browser, lab, lab_page, timings = _conftest.browser, _conftest.lab, _conftest.lab_page, _conftest.timings
NOTEBOOKS = course_notebooks(ROOT, extra="torch")


def test_appendix_notebooks_found():
    assert NOTEBOOKS == ["notebooks/06_torch_and_peft.ipynb", "solutions/06_torch_and_peft.ipynb"]


@pytest.fixture(scope="module", params=NOTEBOOKS)
def run(request, lab, lab_page, timings):
    """One appendix notebook, run in JupyterLab as the core course's are."""
    yield from run_in_lab(request.param, lab, lab_page, timings)
