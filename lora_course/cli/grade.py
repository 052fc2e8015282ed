"""``lora-course grade``: grade a folder of student submissions into a CSV (and feedback files).

The student code runs in fenced kernels (lora_course.grading.sandbox); points are decided in this
process from data the kernels hand back (lora_course.grading.verdict). See docs/instructor_guide.md.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submissions", type=Path, metavar="SUBMISSIONS",
                        help="folder with one folder per student, holding notebooks named as in notebooks/")
    parser.add_argument("--out", type=Path, required=True, help="grades CSV to write")
    parser.add_argument("--feedback", type=Path, metavar="DIR", help="also write one Markdown file per student here")
    parser.add_argument("--jobs", type=int, default=1, help="students graded in parallel (default 1)")
    parser.add_argument("--timeout", type=float, default=60, metavar="S", help="per-cell time limit, s (default 60)")
    parser.add_argument("--notebook-timeout", type=float, default=None, metavar="S",
                        help="per-notebook time limit, s (default 10 x --timeout)")
    parser.add_argument("--memory-mb", type=int, default=2048, help="address-space limit of a kernel (default 2048)")
    parser.add_argument("--solutions", type=Path, metavar="DIR", help="solution notebooks (default: the course's)")
    parser.add_argument("--notebooks", nargs="+", metavar="NN",
                        help="grade these notebooks (number prefixes); default: every one a student submitted")
    parser.add_argument("--seed", type=int, default=0, help="base seed of the project checks' inputs (default 0)")
    parser.add_argument("--isolation", choices=("auto", "root", "user", "none"), default="auto",
                        help="kernel fencing (default auto: namespaces, plus a separate uid when run as root)")
    parser.add_argument("--hide", type=Path, nargs="*", default=[], metavar="PATH",
                        help="more paths the kernels must not see")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def tree_digest(folder: Path) -> str:
    """SHA-256 over every file's relative path and bytes (symlinks by target), to prove nothing changed."""
    h = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        h.update(str(path.relative_to(folder)).encode())
        if path.is_symlink():
            h.update(b"->" + str(path.readlink()).encode())
        elif path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


def run(args: argparse.Namespace) -> int:
    from lora_course.cli.main import find_course_root
    from lora_course.grading.batch import find_students, grade_batch, graded_notebooks, load_plan, new_workroot
    from lora_course.grading.report import write_csv, write_feedback
    from lora_course.grading.sandbox import Limits, Sandbox, paths_to_hide

    if args.jobs < 1:
        raise ValueError(f"--jobs: expected an integer >= 1, got {args.jobs}")
    try:
        root = find_course_root()
    except FileNotFoundError:
        root = None
    solutions = (args.solutions or (root / "solutions" if root else None))
    if solutions is None or not solutions.is_dir():
        raise FileNotFoundError(f"--solutions: expected a folder of solution notebooks, got {solutions}")
    limits = Limits(cell_seconds=args.timeout, notebook_seconds=args.notebook_timeout or 10 * args.timeout,
                    memory_mb=args.memory_mb,
                    cpu_seconds=int((args.notebook_timeout or 10 * args.timeout) + 4 * args.timeout + 60))
    hidden = paths_to_hide(root, [args.submissions, solutions, args.out, *([args.feedback] if args.feedback else []),
                                  *args.hide])
    sandbox = Sandbox(isolation=args.isolation, hidden=hidden, limits=limits)
    mode = sandbox.resolved()
    if mode != "root":
        print(f"lora-course grade: warning: isolation '{mode}' is weaker than 'root' (see the instructor guide)",
              file=sys.stderr)
    students = find_students(args.submissions)
    notebooks = graded_notebooks(solutions, students, args.notebooks)
    before = tree_digest(args.submissions)
    workroot = new_workroot()
    start = time.perf_counter()
    try:
        plan = load_plan(solutions, notebooks, sandbox, workroot, seed=args.seed)
        results = grade_batch(students, plan, jobs=args.jobs, progress=not args.no_progress)
    finally:
        shutil.rmtree(workroot, ignore_errors=True)
    seconds = time.perf_counter() - start
    kept = write_csv(args.out, results, plan)
    if kept:
        print(f"the previous {args.out} differed (hand-entered scores?): kept as {kept}")
    if args.feedback:
        write_feedback(args.feedback, results, plan)
    changed = tree_digest(args.submissions) != before
    ok = sum(r.status == "ok" for r in results)
    print(f"graded {len(students)} student(s) x {len(notebooks)} notebook(s) in {seconds:.1f} s "
          f"({ok} ok), isolation {mode}; wrote {args.out}" + (f" and {args.feedback}/" if args.feedback else ""))
    if changed:
        print("lora-course grade: error: the submissions folder changed during grading", file=sys.stderr)
        return 1
    return 0
