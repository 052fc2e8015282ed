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


def _suite_conftest():
    import importlib.util
    spec = importlib.util.spec_from_file_location("suite_conftest", ROOT / "tests" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_slow_files_start_first_the_answer_keys_follow_the_solutions_and_the_browser_tests_run_last():
    order = _suite_conftest()
    missing = [p for p in order.SLOW_FIRST + order.LATE + order.BROWSER_SLOW_FIRST if not (ROOT / p).is_file()]
    assert not missing, f"listed as slow or late but not in the course (renamed?): {missing}"
    ids = ["tests/test_answer_keys.py::test_e[01]", "tests/test_layer.py::test_a",
           "tests/browser/test_browser_checks.py::test_b", "tests/browser/test_jupyterlab.py::test_c[x]",
           "solutions/03_targets_and_rank.ipynb::Cell 4", "tests/test_nbgrader.py::test_d",
           "notebooks/00_why_lora.ipynb::Cell 0", "solutions/01_rank.ipynb::Cell 0"]
    assert sorted(ids, key=order.run_order) == [
        "tests/test_nbgrader.py::test_d", "solutions/03_targets_and_rank.ipynb::Cell 4", "tests/test_layer.py::test_a",
        "notebooks/00_why_lora.ipynb::Cell 0", "solutions/01_rank.ipynb::Cell 0",
        "tests/test_answer_keys.py::test_e[01]",      # after nbval's run of the solutions, whose answers it reads
        "tests/browser/test_jupyterlab.py::test_c[x]", "tests/browser/test_browser_checks.py::test_b"]


def test_make_test_keeps_that_order_on_two_workers():
    recipe = (ROOT / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "-n 2 --dist loadfile --no-loadscope-reorder" in recipe, recipe
