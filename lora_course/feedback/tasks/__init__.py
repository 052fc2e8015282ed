"""Checks of the implement-it tasks of lessons 01-04, one module per lesson (``lesson01`` ... ``lesson04``).

Each module exposes ``CHECKS: dict[str, Check]``, ``make_inputs(seed)``, ``judge_safely(name, data, inputs)`` and
``run_check(name, namespace, seed=0)``, the protocol of ``lora_course.feedback.project.checks``: ``collect`` runs in the
student's kernel and only calls the student's objects; ``judge`` recomputes the reference and compares.
"""
