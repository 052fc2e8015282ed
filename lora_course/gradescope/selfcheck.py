"""The last step of ``setup.sh``: ``python -I -m lora_course.gradescope.selfcheck SOURCE``.

Fails the image build (exit 1, with what differs) unless every pinned requirement is installed at its exact
version, the course is the exported version, and the lesson's solution notebook yields its graded items.
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path

import nbformat

from lora_course import __version__
from lora_course.grading.items import items_from_solution


def problems(source: Path) -> list[str]:
    """What differs from the export (empty: the image is ready)."""
    out = []
    config = json.loads((source / "lora_gradescope.json").read_text(encoding="utf-8"))
    if config["version"] != __version__:
        out.append(f"lora-course: expected {config['version']}, installed {__version__}")
    for line in (source / "requirements.txt").read_text(encoding="utf-8").split():
        name, _, want = line.partition("==")
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            have = "nothing"
        if have != want:
            out.append(f"{name}: expected {want}, installed {have}")
    name = config["notebook"]
    items = items_from_solution(nbformat.read(source / "solution" / name, as_version=4), name)
    if not items:
        out.append(f"{name}: the solution has no graded items")
    return out


def main(argv: list[str]) -> int:
    found = problems(Path(argv[1]))
    for line in found:
        print(f"selfcheck: {line}", file=sys.stderr)
    if not found:
        print(f"selfcheck: lora-course {__version__} and every pinned requirement are installed")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
