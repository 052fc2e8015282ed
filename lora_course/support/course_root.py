"""Where the course checkout is: the folder that holds ``solutions/`` and ``pyproject.toml``."""

from __future__ import annotations

import os
from pathlib import Path

import lora_course
from lora_course.validation import InputTypeError


def find_course_root(start: Path | None = None) -> Path:
    """The course folder at or above ``start`` (default: the working folder), else the one the package sits in.

    For authoring commands (``student``, ``lab``); the grader never uses it (its rubric must not come from a
    folder someone could plant above the working folder).
    """
    if start is not None and not isinstance(start, (str, os.PathLike)):
        raise InputTypeError(f"start: expected a folder (a Path or a string), got {start!r:.60} "
                             f"({type(start).__name__})")
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "solutions").is_dir() and (folder / "pyproject.toml").is_file():
            return folder
    package_root = Path(lora_course.__file__).resolve().parent.parent
    if (package_root / "solutions").is_dir():
        return package_root
    raise FileNotFoundError(f"no course folder (with solutions/ and pyproject.toml) at or above {here}")
