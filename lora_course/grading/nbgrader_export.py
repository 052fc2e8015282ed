"""Export the solution notebooks as an nbgrader course's source folder (``lora-course nbgrader-export``).

Each ``solutions/NN_name.ipynb`` becomes ``source/lessonNN/NN_name.ipynb``, built from its student version
(``authoring.student.student_version``: ``solution-only`` cells dropped, hidden tests removed, ``student-raises``
tagged ``raises-exception``) with the answer cells' solutions put back, and ``nbgrader`` metadata
(``schema_version`` 3, cell ids kept):

- an answer cell (it holds ``### BEGIN SOLUTION``): ``solution``; a manual item's Markdown answer is also a
  ``grade`` cell with its points (graded by hand in nbgrader's formgrader);
- an auto item's check: a locked ``grade`` cell with the item's ``grade_id`` and points, that calls
  ``grading.nbgrader_cells.answer_score``. A check that shares its cell with the answer gets a grade cell of its
  own right after that cell (id ``<cell id>-grade``); a check cell of its own becomes the grade cell;
- a project item's check cell: a locked ``grade`` cell that calls ``grading.nbgrader_cells.project_score``;
- every other cell: ``locked``.

Under the exported ``nbgrader_config.py`` autograde never runs these cells: ``grading.nbgrader_verdicts.LoraVerdicts``
grades the submission in our sandbox and writes each grade cell's verdict as its output. Run in a kernel (nbgrader's
``Execute``, or a student trying their notebook) a grade cell prints one feedback line and **raises** unless the
item earned all its points (no output and no error is nbgrader's full credit; every item is all-or-nothing).
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

from lora_course.authoring.safe_write import check_parents, make_folder
from lora_course.authoring.student import BEGIN_HIDDEN, student_version
from lora_course.grading.items import GradedItem, answer_cell_ids, former_cell_ids, items_from_solution
from lora_course.grading.nbgrader_cells import GRADE_CELL_MARK, source_digest

CONFIG = '''"""nbgrader settings written by `lora-course nbgrader-export` (edit freely: it is never overwritten)."""

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput, SaveAutoGrades

from lora_course.grading.nbgrader_verdicts import LoraVerdicts

c = get_config()  # noqa: F821 - nbgrader provides get_config
# autograde never runs a submission in nbgrader's own kernel: LoraVerdicts (in place of nbgrader's Execute)
# grades it in lora-course grade's sandbox and writes each grade cell's verdict (guide, sections 5 and 6).
c.Autograde.autograde_preprocessors = [LoraVerdicts, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
# Without LoraVerdicts (nbgrader's Execute instead), grade cells run in the student's kernel: see the guide.
c.Execute.timeout = 300
'''


class ExportError(ValueError):
    """A solution notebook cannot be exported to nbgrader, or a target exists; the message says which."""


def assignment_name(notebook: str) -> str:
    """The nbgrader assignment of a lesson notebook: ``05_project.ipynb`` -> ``lesson05``."""
    if not isinstance(notebook, str) or len(notebook) < 3 or not notebook[:2].isdigit() or notebook[2] != "_":
        raise ExportError(f"notebook: expected a lesson notebook name such as '05_project.ipynb', got {notebook!r}")
    return f"lesson{notebook[:2]}"


def _meta(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False,
          points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": False}
    if grade:
        meta["points"] = points
    return meta


def grade_source(item: GradedItem, instructor: str = "") -> str:
    """The code of an item's grade cell: a call that prints the verdict and raises unless it is full credit."""
    head = f"{GRADE_CELL_MARK} ({item.grade_id}: raises unless the item earned its points)\n"
    if item.kind == "auto":
        return (head + "from lora_course.grading.nbgrader_cells import answer_score\n\n"
                f"answer_score(globals(), {item.grade_id!r}, {item.target!r}, {item.key!r}, points={item.points!r},\n"
                f"             hint={item.hint!r},\n             mistakes={dict(item.mistakes)!r})")
    if item.kind == "project":
        words = instructor.split() if item.reference else []
        lines = [" ".join(words[i:i + 8]) + (" " if i + 8 < len(words) else "") for i in range(0, len(words), 8)]
        digests = "".join(f"\n                  {line!r}" for line in lines or [""])
        return (head + "from lora_course.grading.nbgrader_cells import project_score\n\n"
                f"project_score(globals(), {item.grade_id!r}, {item.target!r}, points={item.points!r},\n"
                f"              checks_module={item.checks_module!r},\n              reference={item.reference!r},\n"
                f"              instructor=({digests}))")
    raise ExportError(f"{item.notebook}: item {item.grade_id}: expected an auto or project item, got {item.kind!r}")


def nbgrader_source(solution: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The nbgrader source notebook of solution notebook ``solution`` (named ``name`` in errors)."""
    if not isinstance(solution, nbformat.NotebookNode) or "cells" not in solution:
        raise ExportError(f"solution: expected a notebook read with nbformat, got {type(solution).__name__}")
    items = {item.cell_id: item for item in items_from_solution(solution, name)}
    answers = answer_cell_ids(solution)
    by_id = {cell["id"]: cell for cell in solution.cells}
    # nbgrader matches a submission to its gradebook by these names, so they keep the cell's first id: an
    # assignment generated before a cell was renamed still autogrades after the course is updated.
    first_id = {}
    for old, new in sorted(former_cell_ids(solution).items()):
        first_id.setdefault(new, old)
    nb = student_version(solution, name)
    cells, graded = [], []                      # graded: (cell, item) whose source is written last
    for cell in nb.cells:
        cid, item = cell["id"], items.get(cell["id"])
        where = f"{name}, cell {cid}"
        if cid in answers:
            cell.source = by_id[cid].source
            if BEGIN_HIDDEN in cell.source:
                raise ExportError(f"{where}: expected hidden tests outside answer cells, got them inside one")
            if item is not None and item.kind == "project":
                raise ExportError(f"{where}: expected a project check cell without solution markers")
            manual = item is not None and item.kind == "manual"
            answer_name = item.grade_id if manual else f"answer-{first_id.get(cid, cid)}"
            cell.metadata["nbgrader"] = _meta(answer_name, solution=True, grade=manual,
                                              points=item.points if manual else None)
            cells.append(cell)
            if item is not None and item.kind == "auto":
                extra = nbformat.v4.new_code_cell(id=f"{cid}-grade"[-64:])
                extra.metadata["nbgrader"] = _meta(item.grade_id, grade=True, locked=True, points=item.points)
                cells.append(extra)
                graded.append((extra, item))
        elif item is not None:
            if item.kind == "manual":
                raise ExportError(f"{where}: expected a manual item's cell to hold '### BEGIN SOLUTION'")
            cell.metadata["nbgrader"] = _meta(item.grade_id, grade=True, locked=True, points=item.points)
            cells.append(cell)
            graded.append((cell, item))
        else:
            cell.metadata["nbgrader"] = _meta(f"cell-{first_id.get(cid, cid)}", locked=True)
            cells.append(cell)
    ids = [c["id"] for c in cells]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise ExportError(f"{name}: expected unique cell ids, got duplicates {twice}")
    instructor = " ".join(dict.fromkeys(source_digest(c.source) for c in cells if c.cell_type == "code"
                                        and not c.metadata["nbgrader"]["solution"]
                                        and not c.metadata["nbgrader"]["grade"]))
    for cell, item in graded:
        original = cell.source if item.kind == "auto" and cell["id"] == item.cell_id else ""
        cell.source = grade_source(item, instructor)
        if original:                            # a check cell of its own: keep its feedback, then score
            head, _, call = cell.source.partition("\n")
            cell.source = f"{head}\n{original}\n\n{call}"
    nb.cells = cells
    nbformat.validate(nb)
    return nb


def _write_new(path: Path, text: str) -> None:
    """Create ``path`` with ``text``; never replaces or follows anything already there."""
    make_folder(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(text.encode("utf-8"))


def export(solutions: Path, out: Path, only: list[str] | None = None) -> tuple[list[Path], Path | None]:
    """Write ``out/source/lessonNN/NN_name.ipynb`` for each solution notebook with graded items (``only``:
    number prefixes), and ``out/nbgrader_config.py`` unless one exists. Returns (notebooks, config or None).

    Raises ExportError, before writing anything, if a target notebook exists or a notebook cannot be exported.
    """
    solutions, out = Path(solutions), Path(out)
    paths = sorted(solutions.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"solutions: expected solution notebooks (NN_name.ipynb) in {solutions}, found none")
    if only:
        bad = [n for n in only if not (isinstance(n, str) and len(n) == 2 and n.isdigit())]
        if bad:
            raise ExportError(f"--only: expected two-digit lesson numbers such as 03, got {bad}")
        paths = [p for p in paths if p.name[:2] in only]
        if not paths:
            raise ExportError(f"--only: expected numbers of solution notebooks in {solutions}, got {only}")
    exported = {}
    for path in paths:
        solution = nbformat.read(path, as_version=4)
        if not items_from_solution(solution, path.name):
            if only:
                raise ExportError(f"--only: {path.name} has no graded items, so nbgrader has nothing to grade")
            continue                             # appendix 06: ungraded (and needs the [torch] extra)
        exported[out / "source" / assignment_name(path.name) / path.name] = nbgrader_source(solution, path.name)
    check_parents(out / "x")
    there = [str(p) for p in exported if p.exists() or p.is_symlink()]
    if there:
        raise ExportError(f"OUT: expected no exported notebooks there yet, got existing {', '.join(there)} "
                          "(move them away or choose another OUT; nothing was written)")
    for target, nb in exported.items():
        _write_new(target, nbformat.writes(nb) + "\n")
    config = out / "nbgrader_config.py"
    if config.exists() or config.is_symlink():
        return list(exported), None
    _write_new(config, CONFIG)
    return list(exported), config
