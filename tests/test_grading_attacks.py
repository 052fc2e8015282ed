"""A third round of attacks on implement-it grades: one batch of ``lora-course grade`` (tests/attack_fixtures.py:
eight notebooks, one or two attacks on each of their two tasks) and the checks' blind spots, judged in this process.

Every fixture gets the score its genuine work earns: a forgery nothing more, an honest student nothing less.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import numpy as np
import pytest
from attack_fixtures import attacks
from fencing import requires_fence
from forge_fixtures import ITEMS, LORA, NAME, SETUP, solution, submission
from test_grading_hostile import UID_BASE

from lora_course.cli.main import main

MEMO = "s_memo_tables"


def notebook(answers: dict, inserted: list[tuple[str, str, str]]) -> nbformat.NotebookNode:
    """The forge course's submission with ``answers``, and cells (before id, source, own id) inserted."""
    nb = submission(answers)
    for before, source, cid in inserted:
        cell = nbformat.v4.new_code_cell(source)
        cell.id = cid
        nb.cells.insert([c.id for c in nb.cells].index(before), cell)
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attacks")
    solutions, subs = tmp / "solutions", tmp / "subs"
    solutions.mkdir()
    nbformat.write(solution(), solutions / NAME)
    cases = attacks(MEMO)
    for student, (_, answers, inserted, *_rest) in cases.items():
        (subs / student).mkdir(parents=True)
        nb = notebook(answers, inserted)
        (subs / student / NAME).write_text(json.dumps(nb), encoding="utf-8")   # raw: ids kept exactly
    out = tmp / "grades.csv"
    assert main(["grade", str(subs), "--solutions", str(solutions), "--out", str(out), "--jobs", "2",
                 "--timeout", "20", "--uid-base", str(UID_BASE + 900), "--no-progress",
                 "--feedback", str(tmp / "fb")]) == 0
    rows = list(csv.reader(out.open(encoding="utf-8")))
    return {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}, cases, tmp


@requires_fence
def test_each_attack_gets_its_honest_score(graded):
    rows, cases, tmp = graded
    wrong = {}
    for student, (classes, _, _, lora, forward, status, words) in cases.items():
        row = rows[student]
        got = [row[g] for g in ITEMS]
        text = (tmp / "fb" / f"{student}.md").read_text(encoding="utf-8")
        if got != [f"{p:g}" for p in (*lora, forward)] or (status and row["status"].split(":")[0] != status) \
                or not all(w in text for w in words):
            wrong[student] = (classes, got, row["status"][:300])
    assert not wrong, json.dumps(wrong, indent=0)


@requires_fence
def test_the_table_of_attack_classes(graded):
    """Per class: attacks, forged (more points than honest), over-penalised (fewer)."""
    rows, cases, _ = graded
    table: dict[str, list[int]] = {}
    for student, (classes, _, _, lora, forward, *_) in cases.items():
        got_lora = sum(float(rows[student][g]) for g in ITEMS[:5])
        got_forward = float(rows[student][ITEMS[5]])
        for kinds, got, honest in ((classes[0], got_lora, sum(lora)), (classes[1], got_forward, forward)):
            for kind in kinds.split(" + "):               # one task can carry two attacks of different classes
                entry = table.setdefault(kind, [0, 0, 0])
                entry[0] += 1
                entry[1] += got > honest
                entry[2] += got < honest
    print(json.dumps(table, indent=0))
    assert sum(e[0] for e in table.values()) >= 16 and len(cases) <= 8
    assert all(e[1] == 0 and e[2] == 0 for e in table.values()), table


# ---------------------------------------------------------------------------------------- the checks' blind spots
def _lesson05_namespace() -> dict:
    """The solution's answer cells of lesson 05, run after its imports (what the clean interpreter holds)."""
    from lora_course.grading.items import answer_cell_ids
    nb = nbformat.read(Path(__file__).resolve().parent.parent / "solutions" / "05_project.ipynb", as_version=4)
    answers, ns = answer_cell_ids(nb), {}
    for cell in nb.cells:
        text = "\n".join(ln for ln in cell.source.split("\n") if not ln.lstrip().startswith(("%", "!")))
        if cell.cell_type == "code" and (cell.get("id") in answers or text.lstrip().startswith(("import", "from"))):
            try:
                exec(text, ns)                                      # noqa: S102 - the course's own solution
            except Exception:  # noqa: BLE001, S110 - cells that need the notebook's earlier state are skipped
                pass
    return ns


VACUOUS = {   # a stub that does none of the work a check is about, and the checks it must not pass
    "train_task does nothing": ({"train_task": lambda *a, **k: []}, ("frozen_unchanged", "no_interference")),
    "train_task returns losses only": ({"train_task": lambda X, y, net, l1, l2, head, epochs, lr: [0.7] * epochs},
                                       ("frozen_unchanged", "no_interference", "train_step")),
    "adapted_forward ignores the adapters": ({"adapted_forward": lambda X, net, l1, l2: (
        np.maximum(X @ net.W1 + net.b1, 0) @ net.W2 + net.b2, None)}, ("zero_init", "adapted_forward")),
}


@pytest.mark.parametrize("stub", sorted(VACUOUS))
def test_a_check_of_a_property_passes_only_when_the_work_it_is_about_was_done(stub):
    """"The frozen weights are unchanged", "task B leaves task A alone", "fresh adapters change nothing": each is
    true of code that trains nothing or ignores the adapters. The check must see the work happen first."""
    from lora_course.feedback.project.checks import evaluate
    ns = _lesson05_namespace()
    assert all(evaluate(name, ns, 3).passed for name in ("zero_init", "frozen_unchanged", "no_interference"))
    patch, refused = VACUOUS[stub]
    ns.update(patch)
    passed = [name for name in refused if evaluate(name, ns, 3).passed]
    assert passed == [], (stub, passed)


IGNORES_RNG = {   # initialisations that draw A from a generator of their own, not from the rng argument
    "lesson 05 LoRA": ("lora_course.feedback.project.checks", "lora_init",
                       LORA.replace("rng.normal(", "np.random.default_rng(0).normal(")),
    "lesson 02 init_lora_factors": ("lora_course.feedback.tasks.lesson02", "init", '''
def init_lora_factors(d, k, r, std, rng):
    return np.random.default_rng(7).normal(0.0, std, size=(r, k)), np.zeros((d, r))
'''),
}


@pytest.mark.parametrize("case", sorted(IGNORES_RNG))
def test_an_initialisation_that_ignores_its_generator_fails(case):
    """Two draws from the same seed agree, but so do two draws from a generator the student fixed: the check also
    asks for a draw from another seed, which must differ."""
    import importlib
    module, check, source = IGNORES_RNG[case]
    checks = importlib.import_module(module)
    ns: dict = {}
    exec(SETUP + "\n" + source, ns)                                # noqa: S102 - a crafted answer
    outcome = checks.evaluate(check, ns, 3) if hasattr(checks, "evaluate") else None
    if outcome is None:
        from lora_course.feedback.outcomes import evaluate
        outcome = evaluate(checks.CHECKS, checks.make_inputs, check, ns, 3)
    assert not outcome.passed and "rng" in outcome.hint, (case, outcome)
