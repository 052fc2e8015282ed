"""`make test` ends with one line naming what was skipped and why; with CI=true a missing program fails.

Each case runs pytest on a small suite in a temporary folder with the course's root conftest.py.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SUITE = '''
import pytest

def test_runs():
    pass

def test_needs_a_browser():
    pytest.skip("Chromium not found. To run the browser tests install Chromium")

def test_needs_the_sandbox():
    pytest.skip("the grader's sandbox needs root and bubblewrap (/usr/bin/bwrap) with user namespaces")

def test_not_applicable():
    pytest.skip("no sliders in this notebook")
'''


def _run(tmp_path: Path, suite: str, ci: bool) -> subprocess.CompletedProcess:
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_suite.py").write_text(suite)
    env = {k: v for k, v in os.environ.items() if k != "CI"} | ({"CI": "true"} if ci else {})
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # pytest and the conftest alone: seconds, not tens of them
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_suite.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_the_last_line_names_each_group_of_skips_and_why(tmp_path):
    run = _run(tmp_path, SUITE, ci=False)
    assert run.returncode == 0, run.stdout + run.stderr
    last = run.stdout.strip().splitlines()[-1]
    assert last.startswith("skipped 3 tests: "), run.stdout
    assert "1 test (Chromium not found)" in last and "1 test (no sliders in this notebook)" in last
    assert "1 test (the grader's sandbox needs root and bubblewrap" in last


def test_nothing_skipped_says_so(tmp_path):
    run = _run(tmp_path, "def test_runs():\n    pass\n", ci=False)
    assert run.returncode == 0 and run.stdout.strip().splitlines()[-1] == "skipped: nothing", run.stdout


def test_in_ci_a_missing_program_fails_and_a_non_applicable_skip_stays_a_skip(tmp_path):
    run = _run(tmp_path, SUITE, ci=True)
    assert run.returncode == 1, run.stdout
    assert "2 failed, 1 passed, 1 skipped" in run.stdout, run.stdout
    assert "CI=true and this test was skipped for a missing program: Chromium not found" in run.stdout
    assert run.stdout.strip().splitlines()[-1].startswith("skipped 1 test: 1 test (no sliders"), run.stdout
