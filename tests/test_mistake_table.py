"""Every typical mistake of ``tests/mistake_catalogue.py`` fails its real check, and the feedback names it."""

from __future__ import annotations

from collections import Counter

import pytest
from mistake_catalogue import catalogue, right_answers, run, run_right
from student_walk import LESSON07_RIGHT, LESSON07_WRONG, TYPED
from task_helpers import assert_caught, task_functions

from lora_course.feedback.answers import diagnose, make_key, make_mistake
from lora_course.feedback.tasks import lesson07
from lora_course.feedback.tasks.common import evaluate

MISTAKES = catalogue()
RIGHT = right_answers()


@pytest.mark.parametrize("mistake", MISTAKES, ids=[f"{m.lesson}-{m.task}-{m.label}" for m in MISTAKES])
def test_each_mistake_fails_and_its_feedback_names_it(mistake):
    outcome = run(mistake)
    assert not outcome.passed, f"the mistake passed: {outcome.message}"
    text = f"{outcome.message} {outcome.hint}"
    assert mistake.words.lower() in text.lower(), (mistake.words, text)
    assert "Traceback" not in text and "lora_course/" not in text, "package frames leak into the feedback"


def test_at_least_eight_mistakes_per_task():
    per_task = Counter((m.lesson, m.task if m.lesson != "05" else m.replaces) for m in MISTAKES)
    assert min(per_task.values()) >= 8, sorted(per_task.items(), key=lambda kv: kv[1])[:5]


@pytest.mark.parametrize("answer", RIGHT, ids=[f"{a.lesson}-{a.task}-{a.label}" for a in RIGHT])
def test_each_right_answer_written_another_way_passes(answer):
    for seed in (0, 3) if answer.lesson != "05" else (0,):
        outcome = run_right(answer, seed)
        assert outcome.passed, (seed, outcome)


def test_at_least_three_right_answers_per_task():
    per_task = Counter((a.lesson, a.task) for a in RIGHT)
    tasks = {(m.lesson, m.task) for m in MISTAKES if m.lesson != "05"}
    assert all(per_task[t] >= 3 for t in tasks), sorted((t, per_task[t]) for t in tasks if per_task[t] < 3)


@pytest.fixture(scope="module")
def lesson07_solution() -> dict:
    return task_functions("07_lora_family.ipynb")


@pytest.mark.parametrize(("check", "label"), [(c, label) for c, rows in LESSON07_RIGHT.items() for label, _ in rows])
def test_lesson07_right_answers_written_another_way_pass(lesson07_solution, check, label):
    replaces = dict(LESSON07_RIGHT[check])[label]
    for seed in (0, 3):
        outcome = evaluate(lesson07.CHECKS, lesson07.make_inputs, check, {**lesson07_solution, **replaces}, seed)
        assert outcome.passed, (seed, outcome)


@pytest.mark.parametrize(("check", "label"), [(c, label) for c, rows in LESSON07_WRONG.items() for label in rows])
def test_lesson07_new_mistakes_fail_and_are_named(lesson07_solution, check, label):
    replaces, words = LESSON07_WRONG[check][label]
    assert_caught(lesson07, check, {**lesson07_solution, **replaces}, words)


@pytest.mark.parametrize("row", TYPED, ids=[f"{r[1]}-{r[4]!r}-{r[5]}" for r in TYPED])
def test_typed_answers_in_another_form_get_the_right_verdict(row):
    value, form, sig, mistake, answer, verdict = row
    key = make_key(value, form, sig)
    mistakes = {make_mistake(mistake, key): "the erratum's figure"} if mistake is not None else {}
    status, hint = diagnose(answer, key, "a hint", mistakes)
    assert status == verdict, (answer, status, hint)
    if mistake is not None and answer == mistake:
        assert hint == "the erratum's figure"
