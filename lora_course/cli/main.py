"""The ``lora-course`` command: one subcommand per job, each living in its own module."""

from __future__ import annotations

import argparse
import importlib
import sys

from lora_course import __version__

# subcommand -> (module, one-line help). Each module defines add_arguments(parser) and run(args) -> int.
SUBCOMMANDS = {
    "student": ("lora_course.cli.student", "generate notebooks/ from solutions/ (and optionally execute both)"),
    "bench": ("lora_course.cli.bench", "measure LoRA, merged and adapter latency on this machine (lesson 04)"),
    "reproduce": ("lora_course.cli.reproduce", "run lesson 03's full target/rank experiment and save figures"),
    "grade": ("lora_course.cli.grade", "grade a folder of student submissions into a CSV"),
    "nbgrader-export": ("lora_course.cli.nbgrader_export", "write an nbgrader source folder from solutions/"),
    "gradescope-export": ("lora_course.cli.gradescope_export", "write one Gradescope autograder zip per lesson"),
    "gradescope-run": ("lora_course.cli.gradescope_run",
                       "run an autograder zip on one submission as Gradescope's contract does (an emulation)"),
    "lab": ("lora_course.support.workspace", "copy new lessons into my-notebooks/ and serve it in JupyterLab"),
}


def build_parser(only: str | None = None, listing: bool = False) -> argparse.ArgumentParser:
    """Every subcommand's parser, or only ``only``'s (so ``lora-course lab`` imports only what lab needs
    and says what it is doing within a second); with ``listing``, the subcommands' names and help alone,
    nothing imported (for ``--help`` and ``--version``)."""
    parser = argparse.ArgumentParser(prog="lora-course", description="LoRA from Scratch: course tools.")
    parser.add_argument("--version", action="version", version=f"lora-course {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        if only is not None and name != only:
            continue
        if listing:
            sub.add_parser(name, help=help_text, description=help_text)
            continue
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise
            continue  # subcommand not built yet
        p = sub.add_parser(name, help=help_text, description=help_text)
        mod.add_arguments(p)
        p.set_defaults(run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    first = next((w for w in words if not w.startswith("-")), None)
    parser = build_parser(first, listing=False) if first in SUBCOMMANDS else build_parser(listing=True)
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except (FileNotFoundError, ValueError) as err:
        print(f"lora-course {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
