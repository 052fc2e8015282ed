"""The course's own processes leave out jsonschema's ``iri`` format checker (support/startup.py); a student's
kernel, which imports only the lessons' modules, keeps whatever its environment has."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
{imports}
import jsonschema, nbformat
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
nbformat.validate(nb)                                 # notebooks are still validated
print(sys.modules.get("rfc3987_syntax", "absent") is None, "iri" in jsonschema.FormatChecker().checkers)
"""


def probe(imports: str) -> tuple[str, str]:
    done = subprocess.run([sys.executable, "-I", "-c", PROBE.format(imports=imports)], capture_output=True,
                          text=True, timeout=120, check=True)
    skipped, iri = done.stdout.split()
    return skipped, iri


@pytest.mark.parametrize("entry", ["lora_course.gradescope.autograder", "lora_course.gradescope.step",
                                   "lora_course.cli.main"])
def test_our_entry_points_skip_the_iri_checker_and_still_validate_notebooks(entry):
    assert probe(f"import {entry}") == ("True", "False")


def test_a_students_imports_change_nothing():
    skipped, _ = probe("import lora_course, lora_course.layer, lora_course.feedback.answers")
    assert skipped == "False"


def test_too_late_is_said_and_changes_nothing(monkeypatch):
    from lora_course.support import startup

    monkeypatch.setitem(sys.modules, "jsonschema._format", sys.modules.get("jsonschema._format", object()))
    before = sys.modules.get(startup.SKIPPED, "absent")
    assert startup.skip_unused_format_checker() is False
    assert sys.modules.get(startup.SKIPPED, "absent") is before


def test_the_batch_workers_skip_it_too():
    """``lora-course grade --jobs N`` spawns fresh workers, which read notebooks: each leaves the checker out."""
    from lora_course.grading.batch import worker_pool

    probe = ("(__import__('nbformat'), __import__('sys').modules.get('rfc3987_syntax', 'absent') is None, "
             "'iri' in __import__('jsonschema').FormatChecker().checkers)[1:]")
    with worker_pool(1) as pool:
        assert pool.submit(eval, probe).result(timeout=120) == (True, False)
