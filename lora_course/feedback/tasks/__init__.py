"""Checks of the implement-it tasks of lessons 01-04 and 07, one module per lesson (``lesson01`` ... ``lesson07``;
lesson 07's judges live in ``lesson07_judges`` and ``lesson07_nf4_judges``).

Each module exposes ``CHECKS: dict[str, Check]``, ``make_inputs(seed)``, ``judge_safely(name, data, inputs)`` and
``run_check(name, namespace, seed=0)``, the protocol of ``lora_course.feedback.project.checks``: ``collect`` runs in the
student's kernel and only calls the student's objects; ``judge`` recomputes the reference and compares.
"""
