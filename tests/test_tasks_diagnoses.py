"""What every check diagnoses before judging, on the collect side shared by the notebook and the grader."""

from __future__ import annotations

import json

import numpy as np
import pytest
from task_helpers import task_functions

from lora_course.feedback import calls
from lora_course.feedback.outcomes import Stopped
from lora_course.feedback.project import stubs
from lora_course.feedback.tasks import lesson02, lesson04
from lora_course.feedback.tasks.common import evaluate
from lora_course.grading.probe import decode_value, encode_value

SOLUTION02 = task_functions("02_reparameterization.ipynb")
SOLUTION04 = task_functions("04_merging_and_deployment.ipynb")


def _forward_without_return(X, W0, A, B, alpha):
    H = X @ W0.T + alpha / A.shape[0] * X @ A.T @ B.T
    cache = (X, W0, A, B, X @ A.T, alpha / A.shape[0])
    H, cache = H, cache                                 # computed, never returned


def test_the_grader_gets_the_notebooks_diagnosis_from_the_same_collect():
    """The collect side returns the diagnosis as plain data; decoded as the grader decodes it, the judge says the
    same as the notebook's check."""
    namespace = {**SOLUTION02, "lora_layer_forward": _forward_without_return}
    notebook = evaluate(lesson02.CHECKS, lesson02.make_inputs, "forward", namespace, 0)
    inputs = lesson02.make_inputs(0)
    data = lesson02.CHECKS["forward"].collect(namespace, inputs)
    travelled = {k: decode_value(json.loads(json.dumps(encode_value(v)))) for k, v in data.items()}
    graded = lesson02.judge_safely("forward", travelled, inputs)
    assert not notebook.passed and "returns nothing" in notebook.message
    assert (graded.passed, graded.message, graded.hint) == (notebook.passed, notebook.message, notebook.hint)


def test_an_exception_shows_the_students_line_and_no_package_frames():
    def lora_layer_forward(X, W0, A, B, alpha):
        return X @ W0 + alpha, None                     # W0 is (d, k): the transpose is missing

    outcome = evaluate(lesson02.CHECKS, lesson02.make_inputs, "forward",
                       {**SOLUTION02, "lora_layer_forward": lora_layer_forward}, 0)
    assert not outcome.passed
    assert "`return X @ W0 + alpha, None" in outcome.message and "line" in outcome.message
    assert "lora_course" not in outcome.message and "numpy" not in outcome.message
    assert "transpose" in outcome.hint


def test_a_loop_that_never_ends_is_stopped_by_the_cpu_time_limit():
    seen = {}

    def stubborn(namespace, inputs):
        while True:
            try:
                seen["spins"] = seen.get("spins", 0) + 1
            except Exception:  # noqa: BLE001, S112 - a student's loop that swallows errors must still be stopped
                continue

    data = calls.guarded(stubborn, 0.3)({}, {})
    assert data[calls.DIAGNOSIS].startswith("your function did not return within 0.3 s")
    assert "loop that never ends" in data[calls.DIAGNOSIS_HINT]


def test_the_stop_button_ends_in_one_line(capsys):
    def interrupted(X, W0, A, B, alpha):
        raise KeyboardInterrupt

    with pytest.raises(Stopped) as stopped:
        lesson02.run_check("forward", {**SOLUTION02, "lora_layer_forward": interrupted})
    lines = stopped.value._render_traceback_()
    assert len(lines) == 1 and "interrupted" in lines[0] and "\n" not in lines[0]
    assert isinstance(stopped.value, KeyboardInterrupt), "Run All still stops"


def test_returned_tuples_are_checked_for_length_and_type():
    with pytest.raises(calls.Diagnosis, match="returned 2 value"):
        calls.returned_tuple("f", (1, 2), ("a", "b", "c"))
    with pytest.raises(calls.Diagnosis, match="returned a single ndarray"):
        calls.returned_tuple("f", np.ones(3), ("a", "b", "c"))
    with pytest.raises(calls.Diagnosis, match="returns nothing"):
        calls.returned_tuple("f", None, ("a", "b"))
    with pytest.raises(calls.Diagnosis, match="dtype object"):
        calls.returned_array("H", np.array([np.ones(2), np.ones(3)], dtype=object))
    with pytest.raises(calls.Diagnosis, match="complex"):
        calls.returned_array("s", np.ones(2, complex))
    with pytest.raises(calls.Diagnosis, match="not a numpy array"):
        calls.returned_array("H", [[1.0]])
    assert calls.returned_number("phi", np.float32(0.5)) == 0.5


def test_a_vectorised_gathered_forward_passes_and_any_python_loop_is_refused():
    """Decided from the source and from how often rows are read one by one, never from a timing."""
    assert evaluate(lesson04.CHECKS, lesson04.make_inputs, "gathered", SOLUTION04, 0).passed

    def rows_loop(W0, A_stack, B_stack, scales, X, ids):
        return np.stack([W0 @ x + scales[t] * B_stack[t] @ (A_stack[t] @ x) for x, t in zip(X, ids, strict=True)])

    outcome = evaluate(lesson04.CHECKS, lesson04.make_inputs, "gathered",
                       {**SOLUTION04, "gathered_forward": rows_loop}, 0)
    assert not outcome.passed and "values are right" in outcome.message and "list comprehension" in outcome.message


def test_stub_cells_print_one_line_and_other_errors_still_raise(capsys):
    stubs.SKIPPED.clear()

    def stub():
        raise NotImplementedError("fill in this part")

    namespace = {"stub": stub}
    stubs.run_after_tasks("x = stub()", namespace)
    stubs.run_after_tasks("y = x + 1", namespace)                  # x was never defined: a consequence
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[0].startswith("⏭ skipped: stub is not written yet")
    assert "x is not defined yet, because a cell above was skipped" in out[1]
    with pytest.raises(ZeroDivisionError):
        stubs.run_after_tasks("1 / 0", namespace)
    stubs.run_after_tasks("z = 2\nz * 3", namespace)
    assert namespace["z"] == 2
    stubs.SKIPPED.clear()
