"""A copy of a lesson notebook as an earlier course version handed it out: its cells carry their former ids.

The solution notebooks record every renamed cell in ``metadata.lora_course.former_cell_ids`` (old -> new);
``with_former_ids`` renames the cells back, so a test can check that a student's copy from before the
rename still grades and still loads.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def former_map(lesson: str) -> dict[str, str]:
    """old id -> new id, from ``solutions/<lesson>``."""
    solution = nbformat.read(ROOT / "solutions" / lesson, as_version=4)
    return dict(solution.metadata["lora_course"]["former_cell_ids"])


def with_former_ids(nb: nbformat.NotebookNode, former: dict[str, str]) -> tuple[nbformat.NotebookNode, int]:
    """A copy of ``nb`` whose cells carry their former ids, and how many cells were renamed."""
    back = {}
    for old, new in sorted(former.items()):
        back.setdefault(new, old)
    out = copy.deepcopy(nb)
    renamed = 0
    for cell in out.cells:
        if cell.get("id") in back:
            cell["id"] = back[cell["id"]]
            renamed += 1
    return out, renamed
