"""What an exported nbgrader grade cell runs when it runs in a kernel: our grader's verdict, computed there.

Under the exported ``nbgrader_config.py`` autograde does not run grade cells at all (``nbgrader_verdicts``:
each verdict comes from ``lora-course grade``'s sandbox). These functions serve a grade cell run in a kernel:
nbgrader's ``Execute`` where an instructor's configuration keeps it, or a student trying their notebook.

``lora-course nbgrader-export`` writes grade cells that call :func:`answer_score` or :func:`project_score`
with ``globals()``. Each runs the very probe ``lora-course grade`` sends (``grading.probe``: the answers probe,
or a project check's ``collect`` from a fresh copy of its module's source), reads its answer back through
``read_payload`` and judges it with ``grading.verdict`` (``judge_auto``, ``judge_project``,
``refuse_reference_use``), then prints one feedback line and raises :class:`NotFullCredit` unless the item
earned all its points: nbgrader gives full credit to a grade cell without an error, so a cell must fail
loudly (a line such as ``get_ipython().ast_node_interactivity = 'none'``, which hides a cell's value, changes
nothing). Every item is all-or-nothing.

Differences from ``lora-course grade``, by design: the checks run inside the student's kernel, so nbgrader's
trust model applies (student code can patch anything the cell uses); a cell is scored where it stands, not
after the whole notebook; project inputs come from seed 0 (not a seed per student); and the student's cells,
for the reference-use rule, are the executed cells whose source is not one of the instructor's
(``instructor``: digests of the locked cells, see :func:`source_digest`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import inspect
import io
import secrets
import tempfile
import warnings
from pathlib import Path

from lora_course.grading.batch import CHECKS_MODULE
from lora_course.grading.guard import probe_runner
from lora_course.grading.items import GradedItem
from lora_course.grading.probe import answers_probe, project_probe, read_payload, verify
from lora_course.grading.verdict import ItemResult, judge_auto, judge_project, refuse_reference_use

GRADE_CELL_MARK = "# lora-course: nbgrader grade cell"   # the first line of every exported grade cell


def source_digest(source: str) -> str:
    """A short digest of a cell's source (surrounding whitespace ignored), to tell instructor cells apart."""
    if not isinstance(source, str):
        raise TypeError(f"source: expected the cell's text (str), got {type(source).__name__}")
    return hashlib.sha256(source.strip().encode("utf-8")).hexdigest()[:10]


def _probe(namespace: dict, build) -> dict | None:
    """Run one probe (``build(nonce, channel_dir)`` -> source) in ``namespace``; its payload, or None."""
    with tempfile.TemporaryDirectory(prefix="lora-nbgrader-") as channel:
        nonce = secrets.token_hex(16)
        error, source = "", build(nonce, channel)
        runner, key = probe_runner()
        try:
            runner(source, namespace=namespace)
        except Exception as err:  # noqa: BLE001 - a failed probe is a failed probe, whatever its file holds
            error = f"{type(err).__name__}: {err}"
        path = Path(channel) / nonce
        data = verify(path.read_bytes(), source, key) if path.is_file() else None
    try:
        return read_payload(data, error)
    except ValueError:
        return None


def _executed_cells(instructor: str) -> tuple[list[str], list[str]]:
    """The kernel's executed cells in order, with origin 'instructor' or 'answer' (for the reference rule)."""
    try:
        from IPython import get_ipython
    except ImportError:                                  # pragma: no cover - always there under nbgrader
        return [], []
    shell = get_ipython()
    history = list(getattr(getattr(shell, "history_manager", None), "input_hist_raw", []))[1:]
    known = set(instructor.split())
    origins = ["instructor" if src.lstrip().startswith(GRADE_CELL_MARK) or source_digest(src) in known
               else "answer" for src in history]
    return history, origins


class NotFullCredit(AssertionError):
    """Raised by a grade cell whose item did not earn all its points (nbgrader then gives the cell 0)."""


def _report(result: ItemResult) -> None:
    """Print the verdict's line; raise NotFullCredit unless the item earned all its points."""
    score = float(result.score or 0.0)
    detail = "; ".join(part for part in (result.message, result.hint and f"hint: {result.hint}") if part)
    line = (f"{result.item.grade_id}: {score:g} / {result.item.points:g} points ({result.result})"
            + (f": {detail[:500]}" if detail else ""))
    print(line)
    if not score >= result.item.points:
        raise NotFullCredit(line)


def _checked(namespace: dict, grade_id: str, points: float) -> None:
    if not isinstance(namespace, dict):
        raise TypeError(f"namespace: expected the notebook's globals() (a dict), got {type(namespace).__name__}")
    if not isinstance(grade_id, str) or not grade_id:
        raise ValueError(f"grade_id: expected a non-empty string, got {grade_id!r}")
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
        raise ValueError(f"points: expected a number >= 0, got {points!r}")


@contextlib.contextmanager
def _quiet():
    """No warnings or stderr: nbgrader gives 0 points to a grade cell that writes to stderr."""
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def answer_score(namespace: dict, grade_id: str, answer: str, key: str, points: float, hint: str = "",
                 mistakes: dict[str, str] | None = None) -> None:
    """Judge an auto item (the answer variable ``answer`` of ``namespace`` against ``key``); raises unless correct."""
    _checked(namespace, grade_id, points)
    if not isinstance(answer, str) or not answer.isidentifier():
        raise ValueError(f"answer: expected the answer variable's name, got {answer!r}")
    item = GradedItem("", grade_id, points, "auto", "", target=answer, key=key, hint=hint,
                      mistakes=tuple((mistakes or {}).items()))
    with _quiet():
        payload = _probe(namespace, lambda nonce, channel: answers_probe(nonce, [answer], channel))
        values = payload.get("values") if payload and payload.get("part") == "answers" else None
        result = judge_auto(item, values if isinstance(values, dict) else None)
    _report(result)


def project_score(namespace: dict, grade_id: str, check: str, points: float, checks_module: str = "",
                  reference: tuple[str, ...] = (), instructor: str = "") -> None:
    """Judge a project item (``CHECKS[check]`` of ``checks_module`` collected here, as our grader does); raises
    unless it passed."""
    _checked(namespace, grade_id, points)
    module_name = checks_module or CHECKS_MODULE
    if not module_name.startswith("lora_course."):
        raise ValueError(f"checks_module: expected a module of lora_course, got {module_name!r}")
    checks = importlib.import_module(module_name)
    if check not in getattr(checks, "CHECKS", {}):
        raise ValueError(f"check: expected one of {sorted(checks.CHECKS)}, got {check!r}")
    item = GradedItem("", grade_id, points, "project", "", target=check, checks_module=checks_module,
                      reference=tuple(reference))
    kernel = importlib.import_module(getattr(checks, "COLLECT_MODULE", checks.__name__))
    inputs = checks.make_inputs(0)
    with _quiet():
        payload = _probe(namespace, lambda nonce, channel: project_probe(
            nonce, check, inspect.getsource(kernel), kernel.__package__, inputs, channel))
        ok = payload if payload and payload.get("part") == "project" and payload.get("check") == check else None
        result = judge_project(item, ok, inputs, checks)
        if item.reference:
            sources, origins = _executed_cells(instructor)
            result = refuse_reference_use([result], sources, origins, checks)[0]
    _report(result)
