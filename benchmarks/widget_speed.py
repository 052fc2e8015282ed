"""How fast each lesson widget answers, end to end in the browser: input change -> output changed on screen.

Starts JupyterLab, drives headless Chromium through Playwright (as tests/browser does), runs every
notebook, then for each live widget (a ``lora_course.support.live.live_panel``) and each of its controls
makes ``--repeats`` input changes: an arrow key on a slider, a click on a toggle button or checkbox, a new
option in a dropdown. For each change it measures, inside the page, the time from the input event to the
first animation frame after the widget's output changed (the next paint), and reads the kernel's time
for that update (``data-kernel-ms``, the render function alone).
It prints p50 and p95 per control. A benchmark, not a test: it never fails on a time (the goal is 100 ms
at p95 on a quiet 2-core machine); it exits 1 only if a control drives no output at all.

Run: `make bench-widgets`, or `.venv/bin/python benchmarks/widget_speed.py [--all] [--repeats 30] [-k 01_]`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from browser_env import CHROMIUM_ARGS, find_chromium  # noqa: E402
from course_files import course_notebooks  # noqa: E402
from lab_notebook import LabNotebook, open_lab  # noqa: E402
from lab_server import LabServer  # noqa: E402

GOAL_MS = 100.0

# Installed once per panel: stamps the first input event (t0) and the first frame after the output changed (t1).
JS_ARM = """
({cell, panel}) => {
  const root = document.querySelectorAll(`[data-lc-cell="${cell}"] .lc-live-panel`)[panel];
  const out = root.querySelector('.widget-html-content') || root.lastElementChild;
  const st = window.__lcBench = {t0: null, t1: null, kernel: null};
  if (root.__lcObserver) root.__lcObserver.disconnect();
  const obs = new MutationObserver(() => {
    const s = window.__lcBench;
    if (s.t0 === null || s.tm !== undefined) return;
    s.tm = performance.now();
    requestAnimationFrame(() => {
      s.t1 = performance.now();
      const tag = out.querySelector('.lc-live');
      s.kernel = tag ? parseFloat(tag.dataset.kernelMs) : null;
    });
  });
  obs.observe(out, {childList: true, subtree: true, characterData: true, attributes: true});
  root.__lcObserver = obs;
  if (!root.__lcListening) {
    const stamp = () => { const s = window.__lcBench; if (s && s.t0 === null) s.t0 = performance.now(); };
    for (const type of ['keydown', 'pointerdown', 'input', 'change']) root.addEventListener(type, stamp, true);
    root.__lcListening = true;
  }
  return true;
}
"""
JS_RESET = "() => { window.__lcBench = {t0: null, t1: null, kernel: null}; return true; }"
JS_DONE = "() => window.__lcBench.t1 !== null"
JS_RESULT = "() => window.__lcBench"


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def control_actions(page, panel):
    """(name, kind, locator) for every control of one live panel."""
    found = []
    for slider in panel.locator(".widget-slider").all():
        label = slider.locator(".widget-label").first
        found.append(((label.inner_text() if label.count() else "slider").strip(), "slider", slider))
    for group in panel.locator(".widget-toggle-buttons").all():
        label = group.locator(".widget-label").first
        found.append(((label.inner_text() if label.count() else "toggle").strip() or "toggle", "toggle", group))
    for box in panel.locator(".widget-checkbox").all():
        found.append((box.inner_text().strip() or "checkbox", "checkbox", box))
    for drop in panel.locator(".widget-dropdown").all():
        label = drop.locator(".widget-label").first
        found.append(((label.inner_text() if label.count() else "dropdown").strip() or "dropdown", "dropdown", drop))
    return found


def act(page, kind: str, control, step: int) -> None:
    """One input change of ``control``."""
    if kind == "slider":
        handle = control.locator(".noUi-handle").first
        now, top = handle.get_attribute("aria-valuenow"), handle.get_attribute("aria-valuemax")
        bottom = handle.get_attribute("aria-valuemin")
        going_up = (step // 8) % 2 == 0
        if now is not None and top is not None and float(now) >= float(top):
            going_up = False
        if now is not None and bottom is not None and float(now) <= float(bottom):
            going_up = True
        handle.focus()
        page.keyboard.press("ArrowRight" if going_up else "ArrowLeft")
    elif kind == "toggle":
        control.locator("button:not(.mod-active)").first.click()
    elif kind == "checkbox":
        control.locator("input").first.click()
    elif kind == "dropdown":
        select = control.locator("select").first
        count, current = select.evaluate("s => [s.options.length, s.selectedIndex]")
        select.select_option(index=(current + 1) % count)       # the next option: always a change


def bench_panel(page, cell: int, panel_index: int, repeats: int, timeout_s: float) -> list[dict]:
    panel = page.locator(f'[data-lc-cell="{cell}"] .lc-live-panel').nth(panel_index)
    panel.scroll_into_view_if_needed()
    rows = []
    for name, kind, control in control_actions(page, panel):
        page.evaluate(JS_ARM, {"cell": cell, "panel": panel_index})
        latencies, kernels, missed = [], [], 0
        for step in range(repeats):
            page.evaluate(JS_RESET)
            page.evaluate(JS_ARM, {"cell": cell, "panel": panel_index})
            act(page, kind, control, step)
            try:
                page.wait_for_function(JS_DONE, timeout=timeout_s * 1000, polling=5)
            except Exception:   # Playwright's TimeoutError: this input changed nothing
                missed += 1
                continue
            result = page.evaluate(JS_RESULT)
            latencies.append(result["t1"] - result["t0"])
            if result.get("kernel") is not None:
                kernels.append(result["kernel"])
            time.sleep(0.05)
        rows.append({"cell": cell, "control": f"{name} ({kind})", "n": len(latencies), "missed": missed,
                     "p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
                     "kernel_p50": percentile(kernels, 50), "kernel_p95": percentile(kernels, 95)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--all", action="store_true", help="solutions/ and notebooks/ (default: solutions/ only)")
    parser.add_argument("-k", default="", help="only notebooks whose path contains this")
    parser.add_argument("--repeats", type=int, default=30, help="input changes per control")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for one output change")
    args = parser.parse_args(argv)
    executable = find_chromium()
    if executable is None:
        print("no Chromium found (set LORA_COURSE_CHROMIUM or install /usr/bin/chromium)")
        return 2
    from playwright.sync_api import sync_playwright

    paths = [p for p in course_notebooks(ROOT) if (args.all or p.startswith("solutions/")) and args.k in p
             and "live_panel" in (ROOT / p).read_text()]      # notebooks without a live widget are not run
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load average {load:.1f} at start "
          f"({'quiet' if load < 0.5 else 'LOADED: numbers are not the quiet-machine figure'})")
    results, notes = [], []
    with sync_playwright() as playwright, LabServer(ROOT, jupyter=Path(sys.executable).with_name("jupyter")) as lab:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        open_lab(page, lab)
        for path in paths:
            nb = nbformat.read(ROOT / path, as_version=4)
            notebook = LabNotebook(page, lab, path, ncells=len(nb.cells))
            try:
                notebook.open()
                notebook.clear_all_outputs()
                notebook.run_all(set(range(len(nb.cells))) if path.startswith("notebooks/") else set(), 600)
                for cell in range(len(nb.cells)):
                    panels = notebook.cell(cell).locator(".lc-live-panel")
                    if not panels.count():
                        if notebook.cell(cell).locator(".jp-OutputArea .jupyter-widgets").count():
                            notes.append(f"{path} cell {cell}: a widget that is not a live panel (not timed)")
                        continue
                    panels.first.wait_for(state="visible", timeout=15_000)
                    for i in range(panels.count()):
                        for row in bench_panel(page, cell, i, args.repeats, args.timeout):
                            results.append({"notebook": path, **row})
                            print(f"  {path} cell {row['cell']} {row['control']}: p50 {row['p50']:.0f} ms, "
                                  f"p95 {row['p95']:.0f} ms", flush=True)
            finally:
                notebook.close()
        browser.close()
    print()
    print(f"{'notebook':42s} {'cell':>4} {'control':34s} {'n':>3} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'kernel p50':>10} {'kernel p95':>10}")
    for r in results:
        flag = "" if r["p95"] < GOAL_MS else "  > goal"
        miss = f"  ({r['missed']} without output)" if r["missed"] else ""
        print(f"{r['notebook']:42s} {r['cell']:>4} {r['control'][:34]:34s} {r['n']:>3} {r['p50']:>7.0f} "
              f"{r['p95']:>7.0f} {r['kernel_p50']:>10.2f} {r['kernel_p95']:>10.2f}{flag}{miss}")
    for note in notes:
        print(note)
    worst = max((r["p95"] for r in results if r["n"]), default=float("nan"))
    end_load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"worst p95: {worst:.0f} ms (goal {GOAL_MS:.0f} ms on a quiet machine); load average at end {end_load:.1f}")
    dead = [r for r in results if r["n"] == 0]
    return 1 if dead or not results else 0


if __name__ == "__main__":
    raise SystemExit(main())
