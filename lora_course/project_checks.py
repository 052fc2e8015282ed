"""Lesson 05's stage checks: a thin shim over ``lora_course.feedback.project`` (kept so old imports work).

The checks live in ``lora_course.feedback.project.checks`` (table and runners), ``.collect`` (the kernel
half), ``.common`` (inputs, comparisons) and the stage modules ``.lora``, ``.network``, ``.training`` and
``.merging``.
"""

from lora_course.feedback.project.checks import (
    CHECKS,
    COLLECT_MODULE,
    NOT_IMPLEMENTED,
    Check,
    Outcome,
    collect_safely,
    evaluate,
    format_outcome,
    judge_safely,
    make_inputs,
    reference_outcome,
    run_all,
    run_check,
)

__all__ = ["CHECKS", "COLLECT_MODULE", "NOT_IMPLEMENTED", "Check", "Outcome", "collect_safely", "evaluate",
           "format_outcome", "judge_safely", "make_inputs", "reference_outcome", "run_all", "run_check"]
