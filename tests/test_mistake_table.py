"""Every typical mistake of ``tests/mistake_catalogue.py`` fails its real check, and the feedback names it."""

from __future__ import annotations

from collections import Counter

import pytest
from mistake_catalogue import catalogue, run

MISTAKES = catalogue()


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
