"""``lora-course nbgrader-export``: write an nbgrader course's source folder from solutions/ (see the guide, §5)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", type=Path, metavar="OUT",
                        help="nbgrader course folder: writes OUT/source/lessonNN/NN_name.ipynb and "
                             "OUT/nbgrader_config.py (never overwrites anything)")
    parser.add_argument("--only", nargs="+", metavar="NN", help="only these lessons, by number (e.g. 01 05)")
    parser.add_argument("--root", type=Path, default=None, help="course folder (default: found from here)")


def run(args: argparse.Namespace) -> int:
    from lora_course.grading.nbgrader_export import export
    from lora_course.support.course_root import find_course_root

    root = args.root.resolve() if args.root else find_course_root()
    notebooks, config = export(root / "solutions", args.out, only=args.only)
    for path in notebooks:
        print(f"wrote {path}")
    print(f"wrote {config}" if config else f"kept the existing {args.out / 'nbgrader_config.py'}")
    print(f"next: cd {args.out} && nbgrader generate_assignment lessonNN, release it, collect, nbgrader autograde")
    return 0
