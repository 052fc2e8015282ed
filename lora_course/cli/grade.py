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
    parser.add_argument("--timeout", type=float, default=60, metavar="S",
                        help="per-cell limit, CPU seconds of the kernel's processes (default 60)")
    parser.add_argument("--notebook-timeout", type=float, default=None, metavar="S",
                        help="per-notebook limit, CPU seconds, checks included (default 10 x --timeout)")
    parser.add_argument("--memory-mb", type=int, default=2048,
                        help="memory limit of a kernel and all its processes together (default 2048)")
    parser.add_argument("--solutions", type=Path, metavar="DIR",
                        help="solution notebooks (default: solutions/ of the course the lora_course package is in)")
    parser.add_argument("--notebooks", nargs="+", metavar="NN",
                        help="grade these notebooks (number prefixes); default: every one a student submitted")
    parser.add_argument("--seed", type=int, default=0, help="base seed of the project checks' inputs (default 0)")
    parser.add_argument("--isolation", choices=("auto", "bwrap", "root", "user", "none"), default="auto",
                        help="kernel sandbox (default auto: bwrap with a uid per student and cgroups when run as "
                             "root; see the instructor guide)")
    parser.add_argument("--allow", type=Path, nargs="*", default=[], metavar="PATH",
                        help="more paths the kernels may read (read-only); nothing else outside the "
                             "interpreter, the virtual environment and the lora_course package is visible")
    parser.add_argument("--uid-base", type=int, default=None, metavar="UID",
                        help="kernels run as UID + the student's index (default: a random base per batch, "
                             "so two batches on one machine never share a uid)")
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


def package_solutions() -> Path | None:
    """``solutions/`` beside the installed lora_course package (an editable install of a course checkout).

    Never searched for from the working folder: a folder planted above it must not supply the rubric.
    """
    import lora_course

    root = Path(lora_course.__file__).resolve().parent.parent
    return root / "solutions" if (root / "solutions").is_dir() and (root / "pyproject.toml").is_file() else None


def _check_options(args: argparse.Namespace) -> None:
    """The numbers and paths argparse only parsed: named as the command line spells them."""
    from lora_course.validation import check_int, check_number

    check_int("--jobs", args.jobs, 1)
    check_number("--timeout", args.timeout, minimum=0, what="CPU seconds")
    if args.notebook_timeout is not None:
        check_number("--notebook-timeout", args.notebook_timeout, minimum=0, what="CPU seconds")
    check_int("--memory-mb", args.memory_mb, 1)
    check_int("--seed", args.seed, 0)
    for option, path in (("--out", args.out), ("--feedback", args.feedback)):
        wrong = path is not None and path.exists() and (path.is_dir() if option == "--out" else not path.is_dir())
        if wrong:
            want = "a CSV file to write" if option == "--out" else "a folder"
            kind = "folder" if path.is_dir() else "file"
            raise ValueError(f"{option}: expected {want}, got {path}, which is a {kind}")


def run(args: argparse.Namespace) -> int:
    from lora_course.grading.batch import (
        find_students,
        grade_batch,
        graded_notebooks,
        load_plan,
        new_workroot,
        skipped_entries,
    )
    from lora_course.grading.report import write_csv, write_feedback
    from lora_course.grading.sandbox import Limits, Sandbox

    _check_options(args)
    solutions = args.solutions or package_solutions()
    if solutions is None or not solutions.is_dir():
        raise FileNotFoundError(f"--solutions: expected a folder of solution notebooks, got {solutions} (the "
                                "installed lora_course package is not inside a course checkout: give --solutions)")
    limits = Limits(cell_seconds=args.timeout, notebook_seconds=args.notebook_timeout or 10 * args.timeout,
                    memory_mb=args.memory_mb)
    import secrets

    base = args.uid_base if args.uid_base is not None else 100_000_000 + secrets.randbelow(2_000_000) * 1000
    if not 10_000 <= base <= 4_000_000_000:
        raise ValueError(f"--uid-base: expected a uid between 10000 and 4000000000, got {base}")
    sandbox = Sandbox(isolation=args.isolation, limits=limits, readonly=tuple(str(p) for p in args.allow), uid=base)
    mode = sandbox.resolved()
    if mode != "bwrap":
        print(f"lora-course grade: warning: isolation '{mode}' is weaker than 'bwrap' (see the instructor guide)",
              file=sys.stderr)
    from lora_course.authoring.safe_write import check_parents

    check_parents(args.out)                 # before any work: never write through another user's link
    if args.feedback:
        check_parents(args.feedback / "x")
    students = find_students(args.submissions)
    for warning in skipped_entries(args.submissions):
        print(f"lora-course grade: warning: {warning}", file=sys.stderr)
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
    per = seconds * min(args.jobs, max(1, len(students))) / max(1, len(students) * len(notebooks))
    print(f"graded {len(students)} student(s) x {len(notebooks)} notebook(s) in {seconds:.1f} s "
          f"({per:.1f} s per notebook and worker; {ok} ok), isolation {mode}; wrote {args.out}"
          + (f" and {args.feedback}/" if args.feedback else ""))
    if changed:
        print("lora-course grade: error: the submissions folder changed during grading", file=sys.stderr)
        return 1
    return 0
