"""Every auto-checked exercise: the solution's computed answer passes its key, equivalent forms pass,
a wrong answer and a missing one do not. The answers are computed by running the solution notebook (nbval's run
of it in the same test run, where there was one: tests/solution_answers.py)."""

import functools
from pathlib import Path

import nbformat
import pytest
from shared_cache import Store, run_folder
from solution_answers import cache_inputs, run_notebook

from lora_course.feedback.answers import COARSE, CORRECT, MISSING, WRONG, diagnose, evaluate
from lora_course.grading.items import items_from_solution

ROOT = Path(__file__).resolve().parent.parent


def auto_items(nb, name):
    """(grade_id, answer variable, key) of every auto-checked item, read the way the grader reads them."""
    return [(item.grade_id, item.target, item.key) for item in items_from_solution(nb, name) if item.kind == "auto"]


def full_items(nb, name):
    return [item for item in items_from_solution(nb, name) if item.kind == "auto"]


NOTEBOOKS = [p for p in sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
             if auto_items(nbformat.read(p, as_version=4), p.name)]


@pytest.fixture(scope="module")
def solution_answers(tmp_path_factory):
    """path -> the answer variables' values after running the solution (once per notebook; both tests read them):
    from nbval's run of the same notebook when it stored them (tests/solution_answers.py), else run here."""
    store = Store(run_folder(tmp_path_factory.getbasetemp()))

    @functools.cache
    def answers(path: Path) -> dict:
        return store.get_or_compute(*cache_inputs(path), lambda: run_notebook(path))

    return answers


def wrong_version(value, form):
    """A wrong answer that is not a rounding of the right one (a round number such as 90 for 89 is
    indistinguishable from 89 given to one figure, and is told "too coarse" instead)."""
    if form == "tuple":
        return [v + 1 for v in value]
    if form == "int":
        return value + 1 if (value + 1) % 10 else value + 2
    return value * 1.1 if value else 1.0


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_keys_accept_right_and_equivalent_answers_and_reject_wrong_and_missing(path, solution_answers):
    answers = solution_answers(path)
    items = auto_items(nbformat.read(path, as_version=4), path.name)
    for grade_id, name, key in items:
        value, form = answers[name], key.split(":")[1]
        assert evaluate(value, key) == CORRECT, f"{grade_id}: the solution's own answer {value!r} fails its key"
        assert evaluate(None, key) == MISSING
        assert evaluate(wrong_version(value, form), key) == WRONG, f"{grade_id}: a wrong answer passes"
        if form == "percent":
            assert evaluate(value * 100, key) == CORRECT, f"{grade_id}: the percentage form is refused"
            assert evaluate(f"{value * 100}%", key) == CORRECT
        if form in ("number", "int") and abs(value) >= 1000:
            assert evaluate(f"{value:,}", key) == CORRECT, f"{grade_id}: '1,234' style is refused"


def coarser(value: float, figures: int) -> str:
    """``value`` written to ``figures`` significant figures, as a student would type it."""
    return f"{value:.{figures - 1}e}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_precision_and_known_mistakes(path, solution_answers):
    """Each answer given too coarsely is told so; each known mistake is a key of the same form that the right
    answer does not match, with its own hint; the question's cell text states the precision."""
    answers = solution_answers(path)
    nb = nbformat.read(path, as_version=4)
    for item in full_items(nb, path.name):
        value, form, sig = answers[item.target], item.key.split(":")[1], int(item.key.split(":")[2])
        if form in ("number", "percent") and sig >= 2 and value and \
                float(coarser(value, sig - 1)) != float(coarser(value, sig)):     # 6 to 2 figures is still 6
            share = value * 100 if form == "percent" else value
            answer = coarser(share, sig - 1) + ("%" if form == "percent" else "")
            assert evaluate(answer, item.key) == COARSE, f"{item.grade_id}: {answer} should be 'too coarse'"
            assert "significant figures" in diagnose(answer, item.key, item.hint)[1]
        assert item.mistakes, f"{item.grade_id}: no known mistakes listed"
        for mistake_key, hint in item.mistakes:
            assert mistake_key.split(":")[1] == form and hint and hint != item.hint, item.grade_id
            assert evaluate(value, mistake_key) != CORRECT, f"{item.grade_id}: the right answer matches a mistake"
        index = next(i for i, c in enumerate(nb.cells) if c.get("id") == item.cell_id)
        question = " ".join(c.source for c in nb.cells[max(0, index - 6):index] if c.cell_type == "markdown")
        wanted = "exact integer" if form in ("int",) else "tuple" if form == "tuple" else "significant figures"
        assert wanted in question, f"{item.grade_id}: the question should state its precision ({wanted})"
