"""``lora-course gradescope-export``: one Gradescope autograder zip per lesson (see the instructor guide, §8)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", type=Path, metavar="OUT", help="writes OUT/lessonNN/autograder.zip for each lesson")
    parser.add_argument("--only", nargs="+", metavar="NN", help="only these lessons, by number (e.g. 02 05)")
    parser.add_argument("--root", type=Path, default=None, help="course folder (default: found from here)")
    parser.add_argument("--timeout", type=float, default=60, metavar="S",
                        help="per-cell limit, CPU seconds of the kernel's processes (default 60)")
    parser.add_argument("--notebook-timeout", type=float, default=None, metavar="S",
                        help="per-notebook limit, CPU seconds (default 10 x --timeout)")
    parser.add_argument("--memory-mb", type=int, default=2048, help="memory limit of the kernel (default 2048)")
    parser.add_argument("--wall", type=float, default=540, metavar="S",
                        help="wall-clock limit of one submission's grading, so that results.json is written before "
                             "Gradescope's own timeout (10 minutes unless raised) stops the container (default 540)")
    parser.add_argument("--isolation", choices=("auto", "bwrap", "user", "none"), default="auto",
                        help="auto (default): the strongest the container allows, named in results.json; an "
                             "explicit mode the container refuses fails the submission's grading with that reason")
    parser.add_argument("--visibility", choices=("visible", "after_due_date", "after_published", "hidden"),
                        default="visible", help="when students see the results on Gradescope (default visible)")
    parser.add_argument("--seed", type=int, default=0,
                        help="base seed of the project and task checks' inputs; each student's come from it and "
                             "their Gradescope user id (default 0)")


def run(args: argparse.Namespace) -> int:
    from lora_course.gradescope.export import Settings, export
    from lora_course.support.course_root import find_course_root

    root = args.root.resolve() if args.root else find_course_root()
    settings = Settings(cell_seconds=args.timeout, notebook_seconds=args.notebook_timeout or 10 * args.timeout,
                        memory_mb=args.memory_mb, wall_seconds=args.wall, isolation=args.isolation,
                        visibility=args.visibility, seed=args.seed)
    import sys

    try:
        written = export(root, args.out, only=args.only, settings=settings)
    except RuntimeError as err:                   # pip wheel failed: its output says why
        print(f"lora-course gradescope-export: error: {err}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    print("next: upload each zip as the autograder of a Gradescope programming assignment; try one first with "
          "lora-course gradescope-run ZIP SUBMISSION_DIR")
    return 0
