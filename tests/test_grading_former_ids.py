"""A notebook handed out before its cells were renamed carries the former ids; it grades as today's would.

Every lesson, as the solution and as the untouched student version, is rewritten with the former ids that
its solution records (``metadata.lora_course.former_cell_ids``) and assembled for grading: the same code
runs in the same order, with the same Markdown answers and the same notes. The real grader run on such a
copy is in tests/test_grading_lessons.py (student ``former_ids``) and, through JupyterLab, in
tests/browser/test_open_unmodified.py.
"""

from __future__ import annotations

import nbformat
import pytest
from former_ids import ROOT, former_map, with_former_ids

from lora_course.grading.assemble import assemble

LESSONS = sorted(p.name for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


def _renamed_lessons():
    out = []
    for lesson in LESSONS:
        solution = nbformat.read(ROOT / "solutions" / lesson, as_version=4)
        if solution.metadata.get("lora_course", {}).get("former_cell_ids"):
            out.append(lesson)
    return out


RENAMED = _renamed_lessons()


def test_the_lessons_with_renamed_cells_are_the_ones_with_tasks():
    assert {"02_reparameterization.ipynb", "04_merging_and_deployment.ipynb"} <= set(RENAMED), RENAMED


@pytest.mark.parametrize("lesson", RENAMED)
@pytest.mark.parametrize("version", ["solutions", "notebooks"])
def test_a_copy_with_the_former_ids_assembles_as_todays(lesson, version):
    solution = nbformat.read(ROOT / "solutions" / lesson, as_version=4)
    today = nbformat.read(ROOT / version / lesson, as_version=4)
    former, renamed = with_former_ids(today, former_map(lesson))
    assert renamed > 0
    answer_ids = {c.id for c in solution.cells if "### BEGIN SOLUTION" in c.source}
    assert {c.id for c in former.cells} & answer_ids != answer_ids, "some answer cell must carry a former id"
    new, old = assemble(solution, today, lesson), assemble(solution, former, lesson)
    assert old.sources == new.sources and old.origins == new.origins
    assert old.markdown_answers == new.markdown_answers and old.notes == new.notes
    assert "added" not in old.origins, "no renamed cell may be mistaken for a cell the student added"


def test_without_the_alias_map_the_renamed_answers_would_be_lost():
    """The property above is not vacuous: graded against a solution that forgot its former ids, the same
    copy loses its answer cells."""
    lesson = "02_reparameterization.ipynb"
    solution = nbformat.read(ROOT / "solutions" / lesson, as_version=4)
    former, _ = with_former_ids(solution, former_map(lesson))
    forgetful = nbformat.from_dict(nbformat.reads(nbformat.writes(solution), as_version=4))
    forgetful.metadata["lora_course"]["former_cell_ids"] = {}
    notes = assemble(forgetful, former, lesson).notes
    assert any("answer cell l02-forward-task is missing" in note for note in notes), notes
