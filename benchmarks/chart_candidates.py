"""Our SVG charts against bqplot and plotly's FigureWidget on lesson 02's and lesson 03's widgets.

For each library: what installing it into the course's venv costs (``--install-cost``: seconds and MB, every
candidate installed into a throwaway venv that holds the course), whether its JupyterLab extension is
prebuilt (``jupyter labextension list``, no ``jupyter lab build``), and, in one JupyterLab page driven by
headless Chromium as ``tests/browser`` does, with one notebook per lesson holding its three widgets (plotly
draws only one FigureWidget per notebook reliably: see ``chart_panels``), the six widgets of
``benchmarks/chart_panels.py``:

- renders: the widget drew its data within 120 s (an SVG, a bqplot figure, a plotly figure with a trace);

- input -> redrawn output: from the input event (arrow key on a slider, click on a toggle or a checkbox) to
  the animation frame after the last change of the widget's output (the output counts as redrawn once it has
  not changed for ``QUIET_MS``), so a library that draws in several steps is timed to its last one;
- kernel time per update: the handler, from the new value to the last message sent to the page.

The widgets are measured interleaved: each round visits every widget once, in a new random order, so a
load change on the shared machine falls on every candidate alike. Ratios to the SVG panel come with a 90 %
bootstrap interval over rounds. A benchmark, not a test: it never fails on a time.

Run: `.venv/bin/python benchmarks/chart_candidates.py [--rounds 8] [--changes 4] [--install-cost]`
(the browser part needs `pip install bqplot plotly anywidget` in the venv first; none of them is a dependency of
the course).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from browser_env import CHROMIUM_ARGS, find_chromium  # noqa: E402
from lab_notebook import LabNotebook, open_lab  # noqa: E402
from lab_server import LabServer  # noqa: E402
from widget_speed import act, control_actions  # noqa: E402

LIBS = ("svg", "bqplot", "plotly")
LESSONS = ("l02", "l03")
CANDIDATES = {"bqplot": ["bqplot"], "plotly": ["plotly", "anywidget"]}
QUIET_MS = 250
# What must be on the page once a widget has drawn its data (a plotly figure without traces is blank).
DRAWN = {"svg": ".lc-bench-out svg", "bqplot": ".lc-bench-out .bqplot svg",
         "plotly": ".lc-bench-out .js-plotly-plot .trace"}

JS_ARM = """
(name) => {
  const root = document.querySelector(`.lc-bench-${name}`);
  const out = root.querySelector('.lc-bench-out');
  window.__lcBench = {t0: null, tMut: null, tFrame: null};
  if (window.__lcObs) window.__lcObs.disconnect();
  window.__lcObs = new MutationObserver(() => {
    const s = window.__lcBench;
    if (s.t0 === null) return;
    s.tMut = performance.now();
    requestAnimationFrame(() => { s.tFrame = performance.now(); });
  });
  window.__lcObs.observe(out, {childList: true, subtree: true, characterData: true, attributes: true});
  if (!root.__lcListening) {
    const stamp = () => { const s = window.__lcBench; if (s.t0 === null) s.t0 = performance.now(); };
    for (const type of ['keydown', 'pointerdown', 'input', 'change']) root.addEventListener(type, stamp, true);
    root.__lcListening = true;
  }
  return true;
}
"""
JS_SETTLED = f"""() => {{ const s = window.__lcBench;
  return s.tFrame !== null && s.tFrame >= s.tMut && performance.now() - s.tMut > {QUIET_MS}; }}"""
JS_RESULT = "() => window.__lcBench"


def percentile(values, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def size_mb(prefix: Path) -> float:
    return sum(f.stat().st_size for f in prefix.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def install_cost() -> list[dict]:
    """Each candidate installed into a fresh venv that already holds the course: seconds and MB added."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="chart-cost-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--log", str(Path(tmp) / "pip.log")]
        subprocess.run([*pip, "-e", str(ROOT)], check=True, stderr=subprocess.DEVNULL)
        print(f"a venv with the course: {size_mb(venv):.0f} MB", flush=True)
        for name, packages in CANDIDATES.items():
            before = size_mb(venv)
            listed = set(_dists(venv))
            start = time.perf_counter()
            subprocess.run([*pip, *packages], check=True, stderr=subprocess.DEVNULL)
            seconds = time.perf_counter() - start
            added = sorted(set(_dists(venv)) - listed)
            rows.append({"library": name, "seconds": seconds, "mb": size_mb(venv) - before, "added": added,
                         "labextensions": _labextensions(venv)})
            subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "uninstall", "-q", "-y",
                            *[d.split("==")[0] for d in added]], check=True)
    return rows


def _dists(venv: Path) -> list[str]:
    out = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "freeze", "--exclude-editable"],
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if "==" in line]


def _labextensions(venv: Path | None = None) -> list[str]:
    jupyter = (venv / "bin" / "jupyter") if venv else Path(sys.executable).with_name("jupyter")
    done = subprocess.run([str(jupyter), "labextension", "list"], capture_output=True, text=True)
    text = done.stdout + done.stderr
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)     # colour codes
    return [line.strip() for line in text.splitlines() if any(k in line for k in ("bqplot", "anywidget", "plotly"))]


def write_notebook(folder: Path, log_path: Path, lesson: str) -> tuple[str, list[str]]:
    """A notebook with one setup cell and one cell per library's widget of ``lesson``; its name and widgets."""
    cells = [nbformat.v4.new_code_cell(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'benchmarks')!r})\nimport chart_panels as cp\n"
        f"LOG = {str(log_path)!r}\ndata = cp.{lesson}_data()")]
    for lib in LIBS:
        cells.append(nbformat.v4.new_code_cell(f"cp.BUILDERS[{lib!r}, {lesson!r}](data, LOG)"))
    kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata=kernel), folder / f"{lesson}.ipynb")
    return f"{lesson}.ipynb", [f"{lib}-{lesson}" for lib in LIBS]


def measure_panel(page, name: str, changes: int, step0: int, timeout_s: float) -> tuple[list[float], int]:
    panel = page.locator(f".lc-bench-{name}")
    panel.scroll_into_view_if_needed()
    latencies, missed = [], 0
    for _label, kind, control in control_actions(page, panel):
        for step in range(step0, step0 + changes):
            page.evaluate(JS_ARM, name)
            act(page, kind, control, step)
            try:
                page.wait_for_function(JS_SETTLED, timeout=timeout_s * 1000, polling=10)
            except Exception:   # Playwright's TimeoutError: this input changed nothing
                missed += 1
                continue
            result = page.evaluate(JS_RESULT)
            latencies.append(result["tFrame"] - result["t0"])
    return latencies, missed


def ratio_interval(rounds_a: list[list[float]], rounds_b: list[list[float]], q: float, seed: int = 0):
    """p_q(a) / p_q(b) and its 90 % bootstrap interval, resampling whole rounds (paired, as interleaved)."""
    rng = np.random.default_rng(seed)
    n = len(rounds_a)
    point = percentile(sum(rounds_a, []), q) / percentile(sum(rounds_b, []), q)
    boots = []
    for _ in range(2000):
        pick = rng.integers(0, n, n)
        a = sum((rounds_a[i] for i in pick), [])
        b = sum((rounds_b[i] for i in pick), [])
        boots.append(percentile(a, q) / percentile(b, q))
    return point, float(np.percentile(boots, 5)), float(np.percentile(boots, 95))


def browser_run(rounds: int, changes: int, timeout_s: float, lessons: tuple[str, ...] = LESSONS) -> dict:
    executable = find_chromium()
    if executable is None:
        raise SystemExit("no Chromium found (set LORA_COURSE_CHROMIUM or install /usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    loads = [os.getloadavg()]
    samples, missed, rendered, names = {}, {}, {}, []
    with tempfile.TemporaryDirectory(prefix="chart-bench-") as tmp:
        folder, log_path = Path(tmp), Path(tmp) / "kernel_ms.jsonl"
        with sync_playwright() as playwright, LabServer(folder, jupyter=Path(sys.executable).with_name("jupyter")) \
                as lab:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            open_lab(page, lab)
            for lesson in lessons:       # one notebook per lesson: one plotly FigureWidget per page
                path, widgets = write_notebook(folder, log_path, lesson)
                names += widgets
                notebook = LabNotebook(page, lab, path, ncells=len(widgets) + 1)
                notebook.open()
                notebook.run_all(set(), 600)
                for cell, name in enumerate(widgets, start=1):
                    samples[name], missed[name] = [], 0
                    try:
                        page.locator(f".lc-bench-{name} {DRAWN[name.split('-')[0]]}").first.wait_for(
                            state="visible", timeout=120_000)
                        rendered[name] = True
                    except Exception:   # Playwright's TimeoutError
                        rendered[name] = False
                        print(f"{name} did not draw; its cell shows: {notebook.output_texts(cell)}"[:2000])
                live = [n for n in widgets if rendered[n]]
                shuffle = random.Random(0)
                for k in range(rounds):
                    shuffle.shuffle(live)
                    for name in live:
                        lat, miss = measure_panel(page, name, changes, k * changes, timeout_s)
                        samples[name].append(lat)
                        missed[name] += miss
                    loads.append(os.getloadavg())
                    print(f"{lesson} round {k + 1}/{rounds} done, load average {loads[-1][0]:.1f}", flush=True)
                notebook.close()
            browser.close()
        kernel = {name: [] for name in names}
        for line in (log_path.read_text() if log_path.exists() else "").splitlines():
            row = json.loads(line)
            kernel[row["panel"]].append(row["ms"])
    return {"names": names, "samples": samples, "missed": missed, "rendered": rendered, "kernel": kernel,
            "loads": loads}


def report(run: dict, rounds: int, changes: int) -> None:
    loads = np.array(run["loads"])
    print(f"\n{os.cpu_count()} CPUs; 1-minute load average {loads[:, 0].min():.1f}-{loads[:, 0].max():.1f} "
          f"(median {np.median(loads[:, 0]):.1f}) over the run; {rounds} interleaved rounds x {changes} changes "
          f"per control")
    print(f"{'widget':12s} {'renders':>7} {'n':>4} {'p50 ms':>7} {'p95 ms':>7} {'p95 / svg (90% CI)':>35} "
          f"{'kernel p50':>10} {'kernel p95':>10}")
    for name in run["names"]:
        flat = sum(run["samples"][name], [])
        base = name.replace(name.split("-")[0], "svg", 1)
        ratio = "-"
        paired = run["samples"].get(base) and len(run["samples"][base]) == len(run["samples"][name])
        if name != base and flat and paired:
            p, lo, hi = ratio_interval(run["samples"][name], run["samples"][base], 95)
            word = "svg faster" if lo > 1 else ("svg slower" if hi < 1 else "not resolved")
            if len(run["samples"][name]) < 3:          # an interval over one or two rounds says nothing
                word = "too few rounds"
            ratio = f"{p:.2f} ({lo:.2f}-{hi:.2f}) {word}"
        k = run["kernel"][name]
        miss = f"  ({run['missed'][name]} without output)" if run["missed"][name] else ""
        print(f"{name:12s} {'yes' if run['rendered'][name] else 'NO':>7} {len(flat):>4} {percentile(flat, 50):>7.0f} "
              f"{percentile(flat, 95):>7.0f} {ratio:>35} {percentile(k, 50):>10.1f} {percentile(k, 95):>10.1f}{miss}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds over the six widgets")
    parser.add_argument("--changes", type=int, default=4, help="input changes per control and round")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for one output change")
    parser.add_argument("--install-cost", action="store_true", help="also time installing each candidate")
    parser.add_argument("--no-browser", action="store_true", help="only the install cost")
    parser.add_argument("--lessons", nargs="+", choices=LESSONS, default=list(LESSONS), help="widgets to time")
    args = parser.parse_args(argv)
    if args.install_cost:
        for row in install_cost():
            print(f"{row['library']:8s} install {row['seconds']:.0f} s, +{row['mb']:.0f} MB in the venv; "
                  f"adds {', '.join(row['added'])}")
            for line in row["labextensions"]:
                print(f"         labextension: {line}")
    if not args.no_browser:
        import importlib.util

        missing = [m for m in ("bqplot", "plotly", "anywidget") if importlib.util.find_spec(m) is None]
        if missing:
            print(f"expected bqplot, plotly and anywidget in this venv, missing {missing}: "
                  f"{Path(sys.executable).name} -m pip install bqplot plotly anywidget")
            return 2
        print("labextensions in this venv:", *_labextensions(), sep="\n  ")
        run = browser_run(args.rounds, args.changes, args.timeout, tuple(args.lessons))
        report(run, args.rounds, args.changes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
