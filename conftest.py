"""Suite-wide collection and reporting.

- Appendix 06 (PyTorch and PEFT, the optional ``[torch]`` extra) stays out of ``make test``: ``tests/torch/``
  and the two 06 notebooks are collected only with ``--torch`` (``make test-torch``), so the numpy course's
  suite needs no torch and never imports it.
- The run ends with one line naming what was skipped and why; with CI=true a test skipped for a missing
  program fails instead.
- nbval's run of a solution notebook hands its answer variables to tests/test_answer_keys.py (through the run's
  shared results, tests/shared_cache.py), which then need not run the notebook a second time.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
TORCH_PATHS = (ROOT / "tests" / "torch",)
TORCH_NOTEBOOK = "06_torch_and_peft.ipynb"


def pytest_addoption(parser):
    parser.addoption("--torch", action="store_true", default=False,
                     help="collect appendix 06's tests (tests/torch/, notebooks 06); needs the [torch] extra")


def is_torch_path(path: Path) -> bool:
    """tests/torch/ and anything under it, and solutions/ or notebooks/ 06_torch_and_peft.ipynb."""
    path = Path(path).resolve()
    return path.name == TORCH_NOTEBOOK or any(path == p or p in path.parents for p in TORCH_PATHS)


def pytest_ignore_collect(collection_path, config):
    if is_torch_path(collection_path) and not config.getoption("--torch"):
        return True
    return None



# --- what was skipped, in one line at the very end; in CI a missing program fails instead of skipping -----------

MISSING_PROGRAM = re.compile(r"chromium|playwright|bubblewrap|bwrap|needs root|not installed", re.IGNORECASE)
SKIP_SUMMARY = pytest.StashKey[str]()
ANSWERS_HELD = pytest.StashKey[dict]()   # a solution notebook's answers' lock, held while nbval runs it


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def skip_reason(report) -> str:
    """The reason a skip report gives, without pytest's "Skipped: " prefix."""
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason.removeprefix("Skipped: ").strip()


def skip_group(nodeid: str, reason: str) -> tuple[str, str]:
    """('browser', 'Chromium not found'): where the skipped test lives and the first sentence of why."""
    where = ("browser" if "tests/browser/" in nodeid else "grader" if "test_grading_" in nodeid
             else "notebook" if ".ipynb" in nodeid else "other")
    return where, reason.split(". ")[0].rstrip(".")[:90]


def summarize_skips(reports) -> str:
    """One line: how many tests were skipped, grouped by where they live and why."""
    groups: dict[tuple[str, str], int] = {}
    for report in reports:
        key = skip_group(report.nodeid, skip_reason(report))
        groups[key] = groups.get(key, 0) + 1
    if not groups:
        return "skipped: nothing"
    total = sum(groups.values())
    parts = "; ".join(f"{n} {'' if where == 'other' else where + ' '}{'test' if n == 1 else 'tests'} ({why})"
                      for (where, why), n in sorted(groups.items(), key=lambda kv: -kv[1]))
    return f"skipped {total} {'test' if total == 1 else 'tests'}: {parts} (README.md: What `make test` needs)"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With CI=true a test skipped for a missing program (Chromium, playwright, bubblewrap, root, make) fails.
    Counts a solution notebook's cells that ran and passed: only a run of every cell gives test_answer_keys.py the
    notebook's answers."""
    outcome = yield
    report = outcome.get_result()
    state = item.parent.stash.get(ANSWERS_HELD, None) if _is_solution_cell(item) else None
    if state is not None and report.when == "call" and report.passed:
        state["passed"] += 1
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = skip_reason(report)
        if MISSING_PROGRAM.search(reason):
            report.outcome = "failed"
            report.longrepr = f"CI=true and this test was skipped for a missing program: {reason}"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    config.stash[SKIP_SUMMARY] = summarize_skips(terminalreporter.stats.get("skipped", []))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """Print the skip line last, after pytest's own summary line."""
    line = config.stash.get(SKIP_SUMMARY, None)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if line is not None and reporter is not None:
        reporter.write_line(line, yellow=line != "skipped: nothing", bold=True)


# --- nbval's run of a solution notebook gives test_answer_keys.py its answers (tests/solution_answers.py) ------------


def _answer_tools():
    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))
    import shared_cache
    import solution_answers

    return shared_cache, solution_answers


def _is_solution_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell" and Path(item.path).parent == ROOT / "solutions"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before a solution notebook's first cell: take its answers' lock, unless another worker holds it or they are
    stored already (then this run stores nothing)."""
    if not _is_solution_cell(item) or item.cell_num != 0 or ANSWERS_HELD in item.parent.stash:
        return
    shared_cache, solution_answers = _answer_tools()
    if not solution_answers.answer_names(item.path):
        return
    store = shared_cache.Store(shared_cache.run_folder(item.config._tmp_path_factory.getbasetemp()))
    try:
        held = store.hold(*solution_answers.cache_inputs(item.path), blocking=False)
    except BlockingIOError:
        return
    if held.value() is not None:
        held.release()
        return
    item.parent.stash[ANSWERS_HELD] = {"held": held, "passed": 0}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    """After the notebook's last cell, before nbval stops its kernel: if every code cell ran and passed (none
    failed, none skipped or deselected: the kernel then holds what running the whole notebook gives), store the
    answers."""
    state = item.parent.stash.get(ANSWERS_HELD, None) if _is_solution_cell(item) else None
    if state is None or (nextitem is not None and nextitem.parent is item.parent):
        return
    del item.parent.stash[ANSWERS_HELD]
    try:
        kernel = item.parent.kernel
        every_cell = state["passed"] == sum(c.cell_type == "code" for c in item.parent.nb.cells)
        if every_cell and kernel is not None and kernel.is_alive():
            values = _answer_tools()[1].read_from_kernel(kernel.kc, item.path)
            if values is not None:
                state["held"].store(values)
    except Exception:  # noqa: BLE001 - nothing stored: test_answer_keys.py runs the notebook itself
        pass
    finally:
        state["held"].release()
