"""Shared by the task-check tests: the task functions of a lesson's notebook, and assertions on outcomes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from lora_course.feedback.tasks.common import NOT_IMPLEMENTED, evaluate

ROOT = Path(__file__).resolve().parent.parent


def task_functions(notebook: str, student: bool = False) -> dict:
    """Exec the imports and the function definitions of a notebook's task cells (ids ``lNN-<name>-task``)."""
    path = ROOT / ("notebooks" if student else "solutions") / notebook
    namespace: dict = {}
    exec("import numpy as np", namespace)  # noqa: S102
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code" or not re.fullmatch(r"l0[1-47]-[a-z0-9-]+-task", cell.get("id", "")):
            continue
        keep = [node for node in ast.parse(cell.source).body if isinstance(node, ast.FunctionDef)]
        exec(compile(ast.Module(body=keep, type_ignores=[]), str(path), "exec"), namespace)  # noqa: S102
    return namespace


def assert_all_pass(module, namespace: dict, seeds=(0, 3)) -> None:
    for seed in seeds:
        for name in module.CHECKS:
            outcome = evaluate(module.CHECKS, module.make_inputs, name, namespace, seed)
            assert outcome.passed, (seed, name, outcome)


def assert_not_implemented(module, namespace: dict) -> None:
    for name in module.CHECKS:
        outcome = evaluate(module.CHECKS, module.make_inputs, name, namespace)
        assert not outcome.passed and outcome.message.startswith(NOT_IMPLEMENTED), (name, outcome)


def assert_caught(module, check: str, namespace: dict, words: str, seeds=(0, 3)) -> None:
    """The check fails, and its message or hint names the mistake (``words`` appears in it)."""
    for seed in seeds:
        outcome = evaluate(module.CHECKS, module.make_inputs, check, namespace, seed)
        assert not outcome.passed, (check, seed, "the mistake passed")
        text = f"{outcome.message} {outcome.hint}"
        assert words.lower() in text.lower(), (check, seed, words, text)


def assert_judge_never_raises(module) -> None:
    inputs = module.make_inputs(0)
    for name in module.CHECKS:
        for data in ({}, {"x": "text"}, {k: [[1.0, 2.0]] for k in "ABGHQKVWsUdXgr"}):
            assert not module.judge_safely(name, data, inputs).passed


def lesson_tests(module, notebook: str) -> tuple:
    """What every lesson's task-check tests share, for the test module to bind at its top level:
    the ``solution`` fixture (the solution notebook's task functions), and three tests: the solution passes every
    check with two seeds, the untouched stubs are 'not implemented yet', bad data fails without raising."""

    @pytest.fixture(scope="module")
    def solution() -> dict:
        return task_functions(notebook)

    def test_solution_passes_every_check_with_two_seeds(solution):
        assert_all_pass(module, solution)

    def test_untouched_stubs_are_not_implemented_yet():
        assert_not_implemented(module, task_functions(notebook, student=True))

    def test_bad_data_fails_without_raising():
        assert_judge_never_raises(module)

    return (solution, test_solution_passes_every_check_with_two_seeds, test_untouched_stubs_are_not_implemented_yet,
            test_bad_data_fails_without_raising)
