"""Measure the Gradescope autograder on this machine: zip size per lesson, setup.sh with pip's cache, and the time
from run_autograder's start to results.json for each lesson's solution notebook (through the harness of
``lora-course gradescope-run``, in its Docker-like container; an emulation of Gradescope's contract).

    .venv/bin/python benchmarks/gradescope_timing.py [--only 02 05] [--repeat 3] [--container docker]

Prints a Markdown table. ``execution_time`` is what run_autograder writes into results.json (its own start to
results.json); "harness" adds the sandbox's start and the copy of the submission.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from lora_course.gradescope import harness
from lora_course.gradescope.export import export

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NN")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--container", choices=harness.CONTAINERS, default="docker")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lora-gradescope-bench-") as tmp:
        tmp = Path(tmp)
        zips = {p.parent.name[-2:]: p for p in export(ROOT, tmp / "zips", only=args.only)}
        first = next(iter(zips.values()))
        tree = harness.prepare(first, tmp / "work")
        cache = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"], capture_output=True, text=True)
        before = load()
        setup_seconds, _ = harness.setup(tree, args.container, Path(cache.stdout.strip()) if cache.stdout else None)
        print(f"setup.sh (pip's cache warm, {args.container} container): {setup_seconds:.0f} s "
              f"(load average {before} before, {load()} after)\n")
        print("| lesson | zip (MB) | run_autograder start to results.json (s) | harness (s) | score | isolation "
              "| load average before → after |")
        print("|---|---|---|---|---|---|---|")
        for nn, path in zips.items():
            name = next(iter(zipfile_names(path)))
            sub = tmp / f"sub{nn}"
            sub.mkdir()
            nbformat.write(nbformat.read(ROOT / "solutions" / name, as_version=4), sub / name)
            runs, before = [], load()
            for _ in range(args.repeat):
                shutil_source(tree, path)
                content, seconds, log = harness.grade(tree, sub, args.container)
                if content is None:
                    print(log[-3000:], file=sys.stderr)
                    return 1
                runs.append((content["execution_time"], seconds, content))
            content = runs[-1][2]
            mode = next((w for w in content["output"].split() if w in ("bwrap:", "user:", "none:")), "?")[:-1]
            cell = " / ".join(f"{r[0]:.1f}" for r in runs)
            wall = statistics.median(r[1] for r in runs)
            print(f"| {nn} | {path.stat().st_size / 1e6:.2f} | {cell} | {wall:.1f} | "
                  f"{content['score']:g} / {sum(t['max_score'] for t in content['tests']):g} | {mode} "
                  f"| {before} → {load()} |", flush=True)
    return 0


def load() -> str:
    """The 1-minute load average (a busy machine's seconds are upper bounds)."""
    return Path("/proc/loadavg").read_text().split()[0]


def zipfile_names(path: Path) -> list[str]:
    import zipfile

    with zipfile.ZipFile(path) as zf:
        return [n.split("/", 1)[1] for n in zf.namelist() if n.startswith("solution/")]


def shutil_source(tree: Path, path: Path) -> None:
    import shutil

    shutil.rmtree(tree / "source")
    harness.unpack(path, tree / "source")


if __name__ == "__main__":
    sys.exit(main())
