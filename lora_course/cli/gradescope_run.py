"""``lora-course gradescope-run``: run an autograder zip on one submission as Gradescope's documented contract
does (setup.sh, then run_autograder in a throwaway /autograder), and print results.json. Not Gradescope itself."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("zip", type=Path, metavar="ZIP", help="an autograder.zip from lora-course gradescope-export")
    parser.add_argument("submission", type=Path, metavar="SUBMISSION_DIR",
                        help="folder with the files a student would upload (one notebook)")
    parser.add_argument("--container", choices=("docker", "privileged"), default="docker",
                        help="docker (default): root with Docker's default capabilities, as in a Gradescope "
                             "container; privileged: all of root's capabilities and cgroups, as on your machine")
    parser.add_argument("--pip-cache", type=Path, default=None, metavar="DIR",
                        help="pip's cache for setup.sh (default: this machine's, from pip cache dir)")
    parser.add_argument("--keep", action="store_true", help="keep the /autograder folder and print where it is")


def default_pip_cache() -> Path | None:
    done = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"], capture_output=True, text=True, check=False)
    return Path(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip() else None


def run(args: argparse.Namespace) -> int:
    from lora_course.gradescope.harness import BWRAP
    from lora_course.gradescope.harness import run as run_harness

    if not args.zip.is_file():
        raise FileNotFoundError(f"ZIP: expected an autograder.zip file, got {args.zip}")
    if not args.submission.is_dir():
        raise FileNotFoundError(f"SUBMISSION_DIR: expected a folder with the student's files, got {args.submission}")
    if not Path(BWRAP).exists():
        raise FileNotFoundError(f"the harness needs bubblewrap at {BWRAP} (Debian/Ubuntu package bubblewrap)")
    print("emulating Gradescope's documented autograder contract on this machine (this is not Gradescope)",
          file=sys.stderr)
    try:
        result = run_harness(args.zip, args.submission, args.container, args.pip_cache or default_pip_cache(),
                             args.keep)
    except RuntimeError as err:                   # setup.sh failed: its output's end says why
        print(f"lora-course gradescope-run: error: {err}", file=sys.stderr)
        return 1
    if result.results is None:
        print(result.log[-4000:], file=sys.stderr)
        print("lora-course gradescope-run: error: run_autograder wrote no results.json", file=sys.stderr)
        return 1
    print(json.dumps(result.results, indent=1, ensure_ascii=False))
    print(f"setup.sh {result.setup_seconds:.1f} s; run_autograder {result.run_seconds:.1f} s"
          + (f"; kept {result.folder}/autograder" if result.folder else ""), file=sys.stderr)
    return 0
