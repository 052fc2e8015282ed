"""Fixtures for the JupyterLab browser tests: Chromium via Playwright, one JupyterLab server per session.

Skips locally without Chromium or playwright, fails under CI=true (see browser_env.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # lab_server, lab_notebook (no package here)


from browser_env import CHROMIUM_ARGS, ROOT, SCREENSHOTS, find_chromium, unavailable  # noqa: E402
from lab_notebook import open_lab  # noqa: E402
from lab_server import LabServer  # noqa: E402

VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium driven by Playwright (Debian's Chromium; Playwright's download is not used)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the python package `playwright` is not installed")
    executable = find_chromium()
    if executable is None:
        where = os.environ.get("LORA_COURSE_CHROMIUM") or "/usr/bin/chromium or on PATH"
        unavailable(f"no Chromium executable found (looked at {where})")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def lab(browser):
    """JupyterLab serving the course folder on a free 127.0.0.1 port with a random token; stopped after."""
    jupyter = Path(sys.executable).with_name("jupyter")
    with LabServer(ROOT, jupyter=jupyter) as server:
        yield server


@pytest.fixture(scope="session")
def lab_page(browser, lab):
    """One browser tab with JupyterLab loaded; the notebooks are opened in it one after another."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    open_lab(page, lab)
    try:
        yield page
    finally:
        context.close()


TIMINGS = pytest.StashKey[dict]()


@pytest.fixture(scope="session")
def timings(request) -> dict:
    """Seconds per notebook ({'open', 'run', 'slider_max'}), filled by the tests; printed at the end."""
    return request.config.stash.setdefault(TIMINGS, {})


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    measured = config.stash.get(TIMINGS, {})
    if not measured:
        return
    terminalreporter.section("JupyterLab browser timings")
    lines = ["notebook                                   open s   run s  slider ms (max)"]
    for path, t in measured.items():
        slider = f"{1000 * t['slider_max']:.0f}" if t.get("slider_max") is not None else "-"
        lines.append(f"{path:42s} {t['open']:6.1f} {t['run']:7.1f}  {slider:>8s}")
    total = sum(t['open'] + t['run'] for t in measured.values())
    lines.append(f"total {total:.1f} s over {len(measured)} notebooks")
    for line in lines:
        terminalreporter.write_line(line)
    SCREENSHOTS.mkdir(exist_ok=True)
    (SCREENSHOTS / "browser_timings.txt").write_text("\n".join(lines) + "\n")
