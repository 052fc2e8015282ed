"""nbgrader's ``autograde`` step that takes every grade cell's outcome from ``lora-course grade``'s sandbox.

``lora-course nbgrader-export`` writes an ``nbgrader_config.py`` whose ``Autograde.autograde_preprocessors``
put :class:`LoraVerdicts` where nbgrader's ``Execute`` was: the submitted notebook is never run in nbgrader's own
kernel. Instead its answer cells (by cell id, with the cells the student added) go through
``grading.batch.grade_notebook``: a fresh kernel in the sandbox, the grader's guard and sealed probe, the
solution's keys and checks, judged in this process. Each grade cell then gets one output: the feedback line
(full credit) or an error carrying it (no credit: nbgrader's ``determine_grade`` gives 0 to a cell with an
error). Every item is all-or-nothing, so no cell needs a number. Nothing the student's code does reaches this
process; what a student can do is what ``lora-course grade`` allows (see the guide, section 6).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from lora_course.grading.batch import NotebookResult, grade_notebook, load_plan, new_workroot
from lora_course.grading.sandbox import Sandbox


def verdict_outputs(grade_id: str, points: float, result: NotebookResult) -> list:
    """The outputs of grade cell ``grade_id``: a feedback line, in an error unless it earned ``points``."""
    found = next((r for r in result.results if r.item.grade_id == grade_id), None) if grade_id else None
    score = float(found.score or 0.0) if found is not None else 0.0
    detail = "; ".join(p for p in ((found.message, found.hint and f"hint: {found.hint}") if found else
                                   ("not graded",)) if p)
    line = (f"{grade_id}: {score:g} / {points:g} points ({found.result if found else 'not graded'})"
            + (f": {detail[:500]}" if detail else ""))
    if result.status != "ok":
        line += f" [notebook: {result.status}: {'; '.join(result.reasons)[:300]}]"
    if found is not None and score >= points:
        return [nbformat.v4.new_output("stream", name="stdout", text=line + "\n")]
    return [nbformat.v4.new_output("error", ename="NotFullCredit", evalue=line, traceback=[line])]


def without_added_grade_cells(nb):
    """A copy of ``nb`` without the grade cells the export added (``<cell id>-grade``): our grader judges the
    items itself, and every other cell is matched to the solution by id as usual."""
    copy = nbformat.from_dict(nb)
    copy.cells = [c for c in nb.cells if not (c.get("id", "").endswith("-grade")
                                              and c.metadata.get("nbgrader", {}).get("grade")
                                              and not c.metadata.get("nbgrader", {}).get("solution"))]
    return copy


def solutions_folder() -> Path:
    """The course's solutions/ beside the installed package (as ``lora-course grade`` uses without --solutions;
    never searched for from the working folder)."""
    import lora_course

    root = Path(lora_course.__file__).resolve().parent.parent
    found = root / "solutions" if (root / "solutions").is_dir() and (root / "pyproject.toml").is_file() else None
    if found is None:
        raise FileNotFoundError("nbgrader autograde with LoraVerdicts: expected the lora_course package installed "
                                "from a course checkout (with solutions/), found none")
    return found


class LoraVerdicts(Preprocessor):
    """Grade the submitted notebook in our sandbox and write each grade cell's verdict as its output."""

    enabled = Bool(True, help="nbconvert runs a preprocessor only when enabled").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        name, student = f"{info['notebook']}.ipynb", str(info["student"])
        workroot = new_workroot()
        scratch = Path(tempfile.mkdtemp(prefix="lora-nbgrader-"))
        try:
            folder = scratch / student
            folder.mkdir()
            nbformat.write(without_added_grade_cells(nb), folder / name)
            plan = load_plan(solutions_folder(), [name], Sandbox(), workroot)
            result = grade_notebook(plan, student, folder, name, workroot / "job")
        finally:
            shutil.rmtree(workroot, ignore_errors=True)
            shutil.rmtree(scratch, ignore_errors=True)
        points = {item.grade_id: float(item.points) for item in plan.items[name]}   # the solution's, never the cell's
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("grade"):
                grade_id = meta.get("grade_id")
                cell.outputs = verdict_outputs(grade_id if isinstance(grade_id, str) else "",
                                               points.get(grade_id, 0.0) if isinstance(grade_id, str) else 0.0,
                                               result)
        return nb, resources
