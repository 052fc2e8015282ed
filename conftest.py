"""Suite-wide collection and reporting.

- Appendix 06 (PyTorch and PEFT, the optional ``[torch]`` extra) stays out of ``make test``: ``tests/torch/``
  and the two 06 notebooks are collected only with ``--torch`` (``make test-torch``), so the numpy course's
  suite needs no torch and never imports it.
- The run ends with one line naming what was skipped and why; with CI=true a test skipped for a missing
  program fails instead.
"""

from __future__ import annotations

import os
import re
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
    """With CI=true a test skipped for a missing program (Chromium, playwright, bubblewrap, root, make) fails."""
    outcome = yield
    report = outcome.get_result()
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
