"""Build the notebook the grader runs: instructor cells from the solution, answer cells from the submission.

The instructor's cells (the student version of every solution cell, so without solution-only cells or
hidden tests) are taken in the solution's order. A cell that holds ``### BEGIN SOLUTION`` in the
solution is an answer cell: its source comes from the submission cell with the same id (first one if
duplicated; left out if the student deleted it). Code cells the student added (ids unknown to the
solution) run after the submission cell they follow. Whatever the submission did to the other cells
(edits, deletions, copies, a new order) is ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from lora_course.authoring.student import student_version
from lora_course.grading.items import answer_cell_ids, former_cell_ids

MAX_NOTEBOOK_BYTES = 20_000_000


class MalformedSubmission(ValueError):
    """The submitted file cannot be read as a notebook; the message says why."""


@dataclass
class Assembled:
    """Code to run, in order, with where each cell came from; and the student's Markdown answers by cell id."""

    sources: list[str] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)   # "instructor", "answer" or "added"
    answer_ids: dict[int, str] = field(default_factory=dict)   # index in sources -> the answer cell's id
    markdown_answers: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def read_submission(path: Path) -> nbformat.NotebookNode:
    """Read a submitted notebook, refusing symlinks, huge files and anything that is not a notebook."""
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        raise MalformedSubmission(f"{path.name}: expected a regular file, got a symlink or special file")
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise MalformedSubmission(f"{path.name}: expected at most {MAX_NOTEBOOK_BYTES} bytes, got {size}")
    try:
        raw = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MalformedSubmission(f"{path.name}: not valid JSON ({err})") from None
    except RecursionError:
        raise MalformedSubmission(f"{path.name}: JSON nested too deeply to be a notebook") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list) or raw.get("nbformat") != 4:
        raise MalformedSubmission(f"{path.name}: expected a version-4 notebook with a list of cells")
    cells = []
    for index, cell in enumerate(raw["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise MalformedSubmission(f"{path.name}: cell {index} is not a code, markdown or raw cell")
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise MalformedSubmission(f"{path.name}: cell {index} has a source that is not text")
        cell_id = cell.get("id")
        cells.append(nbformat.from_dict({"cell_type": cell["cell_type"], "source": source, "metadata": {},
                                         "id": cell_id if isinstance(cell_id, str) else f"no-id-{index}"}))
    if raw["cells"] and not any(isinstance(c.get("id"), str) for c in raw["cells"]):
        raise MalformedSubmission(f"{path.name}: saved without cell ids (nbformat 4.{raw.get('nbformat_minor')}), "
                                  "so its answer cells cannot be matched; open and save it in JupyterLab (or "
                                  "Notebook 7) to add them")
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    return nb


def assemble(solution: nbformat.NotebookNode, submission: nbformat.NotebookNode, name: str) -> Assembled:
    """The cells to execute for one submitted notebook (see the module docstring)."""
    answers = answer_cell_ids(solution)
    instructor = student_version(solution, name)
    known = {cell["id"] for cell in solution.cells}
    former = former_cell_ids(solution)
    first_by_id: dict[str, nbformat.NotebookNode] = {}
    added_after: dict[str | None, list[str]] = {}
    previous_known: str | None = None
    for cell in submission.cells:
        cid = cell.get("id")
        cid = former.get(cid, cid) if cid not in known else cid
        if cid in known:
            if cid in first_by_id:
                continue                       # a duplicated id: the first copy counts
            first_by_id[cid] = cell
            previous_known = cid
        elif cell.cell_type == "code" and cell.source.strip():
            added_after.setdefault(previous_known, []).append(cell.source)

    out = Assembled()
    out.sources.extend(added_after.get(None, []))
    out.origins.extend(["added"] * len(added_after.get(None, [])))
    for cell in instructor.cells:
        cid = cell["id"]
        if cid in answers:
            sub = first_by_id.get(cid)
            if sub is None or sub.cell_type != answers[cid]:
                out.notes.append(f"answer cell {cid} is missing from the submission")
            elif answers[cid] == "markdown":
                out.markdown_answers[cid] = sub.source
            else:
                out.answer_ids[len(out.sources)] = cid
                out.sources.append(sub.source)
                out.origins.append("answer")
        elif cell.cell_type == "code":
            out.sources.append(cell.source)
            out.origins.append("instructor")
        extra = added_after.get(cid, [])
        out.sources.extend(extra)
        out.origins.extend(["added"] * len(extra))
    if sum(len(v) for v in added_after.values()):
        out.notes.append(f"{sum(len(v) for v in added_after.values())} code cell(s) added by the student were run")
    return out
