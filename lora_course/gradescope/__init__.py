"""Grading on Gradescope: one autograder zip per lesson, graded by our own grader in each submission's container.

export (``lora-course gradescope-export``: the zip with ``setup.sh``, ``run_autograder``, a wheel of the course and
pinned requirements) -> autograder (what ``run_autograder`` runs: finds the submission, picks the isolation,
grades in a child process, writes ``results.json``) -> step (that child: our grader's public batch entry on one
notebook) -> results (Gradescope's results format, and its JSON Schema ``results.schema.json``);
isolation (what fence the container allows); harness (``lora-course gradescope-run``: the documented contract,
emulated on this machine).
"""

from lora_course.support.startup import skip_unused_format_checker

skip_unused_format_checker()
