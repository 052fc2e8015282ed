"""The student's own LoRA, read from their lesson notebooks, against a hand-written torch layer and PEFT.

``load_student_code`` reads the task functions a student wrote in lesson 02 (``init_lora_factors``,
``lora_layer_forward``, ``lora_layer_backward``) and lesson 04 (``merge_weight``) from the notebooks in the
appendix's folder (the student's own copies under ``my-notebooks/``), runs each of those cells alone in a
fresh namespace with numpy as ``np``, and hands the functions back. ``student_agreement`` then feeds them
the same W0, A, B and input as the hand-written torch layer and PEFT and reports each difference as a ``Row``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np
import torch
from peft import LoraConfig, get_peft_model

from lora_course.support.course_root import find_course_root
from lora_course.torch_bridge.agreement import OneLinear, Row, _t, autograd_pass, compare, lora_layers
from lora_course.torch_bridge.task_cells import TASKS, find_task_cell, former_ids


@dataclass
class StudentCode:
    """The functions found (name -> function, name -> notebook) and why any is missing (one line each)."""

    functions: dict[str, Callable] = field(default_factory=dict)
    notebooks: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _former_ids(notebook: str) -> dict[str, str]:
    """Earlier ids of the lesson's cells, from the course's solution notebook ({} without a course folder)."""
    try:
        root = find_course_root()
    except FileNotFoundError:
        return {}
    return former_ids(root / "solutions" / notebook)


def _load(out: StudentCode, path: Path, tasks: dict[str, str]) -> None:
    notebook = path.name
    if not path.is_file():
        out.problems.append(f"no {notebook} beside this notebook: open the appendix from the folder that holds "
                            f"your lessons (make lab's my-notebooks/)")
        return
    try:
        cells = nbformat.read(path, as_version=4).cells
    except Exception as err:   # nbformat raises several types for a file that is not a notebook
        out.problems.append(f"{notebook} could not be read as a notebook ({type(err).__name__})")
        return
    former = _former_ids(notebook)
    for name, cell_id in tasks.items():
        cell = find_task_cell(cells, name, cell_id, former)
        if cell is None:
            out.problems.append(f"{name}: no code cell of {notebook} defines it")
            continue
        namespace: dict = {"np": np, "__name__": "student_code"}
        try:
            exec(compile(cell["source"], f"{notebook} [{name}]", "exec"), namespace)   # the student's own code
        except Exception as err:
            out.problems.append(f"{name}: its cell in {notebook} raised {type(err).__name__}: {err}")
            continue
        out.functions[name], out.notebooks[name] = namespace[name], notebook


def load_student_code(folder: str | Path = ".") -> StudentCode:
    """The student's lesson-02 and lesson-04 task functions from the notebooks in ``folder`` (default: here)."""
    out = StudentCode()
    for notebook, tasks in TASKS.items():
        _load(out, Path(folder) / notebook, tasks)
    return out


def _call(lesson: StudentCode, name: str, *args):
    """``lesson.functions[name](*args)``, or None with the reason added to ``lesson.problems``."""
    if name not in lesson.functions:
        return None
    try:
        return lesson.functions[name](*args)
    except NotImplementedError:
        lesson.problems.append(f"{name}: not written yet in {lesson.notebooks[name]} (it raises NotImplementedError)")
    except Exception as err:
        lesson.problems.append(f"{name} raised {type(err).__name__}: {err}")
    return None


def student_agreement(lesson: StudentCode, seed: int = 0, d: int = 48, k: int = 32, r: int = 4, n: int = 16,
                      alpha: float = 8.0) -> list[Row]:
    """Rows for the student's forward H, backward dX, dA, dB, initialisation and merged W against the
    hand-written torch layer and PEFT, with the same W0 (d, k), A (r, k), B (d, r), X (n, k), dL/dH = G (n, d).

    A function that is missing, unwritten or raising gives no row; its reason is added to ``lesson.problems``.
    """
    rng = np.random.default_rng(seed)
    W0, X, G = rng.normal(size=(d, k)), rng.normal(size=(n, k)), rng.normal(size=(n, d))
    A, B = rng.normal(size=(r, k)), rng.normal(size=(d, r))   # B non-zero, as after training
    layers = lora_layers(W0, A, B, r, alpha)
    rows: list[Row | None] = []
    forward = _pair(lesson, "lora_layer_forward", "(H, cache)",
                    _call(lesson, "lora_layer_forward", X.copy(), W0.copy(), A.copy(), B.copy(), alpha))
    grads = None
    if forward is None and "lora_layer_backward" in lesson.functions:
        lesson.problems.append("lora_layer_backward: not compared (it needs the cache of your lora_layer_forward)")
    if forward is not None:
        grads = _call(lesson, "lora_layer_backward", G.copy(), forward[1])
        if grads is not None and not (isinstance(grads, tuple | list) and len(grads) == 3):
            lesson.problems.append(f"lora_layer_backward: expected the tuple (dX, dA, dB), got {type(grads).__name__}")
            grads = None
    for label, module, pA, pB in layers:
        out, x_grad = autograd_pass(module, X, G)
        if forward is not None:
            rows.append(_safe_compare(lesson, f"your lora_layer_forward vs {label}: H", forward[0], out))
        if grads is not None:
            for grad_name, ours, theirs in zip(("dX", "dA", "dB"), grads, (x_grad, pA.grad, pB.grad), strict=True):
                rows.append(_safe_compare(lesson, f"your lora_layer_backward vs {label} autograd: {grad_name}",
                                          ours, theirs))
    init = _pair(lesson, "init_lora_factors", "(A, B)",
                 _call(lesson, "init_lora_factors", d, k, r, 0.02, np.random.default_rng(seed)))
    if init is not None and forward is not None:
        step0 = _pair(lesson, "lora_layer_forward", "(H, cache)",
                      _call(lesson, "lora_layer_forward", X.copy(), W0.copy(), *init, alpha))
        fresh = get_peft_model(OneLinear(W0), LoraConfig(r=r, lora_alpha=alpha, target_modules=["lin"],
                                                         lora_dropout=0.0))   # PEFT's own init: lora_B = 0
        if step0 is not None:
            with torch.no_grad():
                rows.append(_safe_compare(lesson, "your init_lora_factors: H at step 0 vs PEFT's fresh layer",
                                          step0[0], fresh(_t(X))))
    merged = _call(lesson, "merge_weight", W0.copy(), A.copy(), B.copy(), alpha / r)
    if merged is not None:
        (_, hand, _, _), (_, peft, _, _) = layers
        rows.append(_safe_compare(lesson, "your merge_weight vs hand-written torch merge: W", merged,
                                  hand.merge().weight))
        rows.append(_safe_compare(lesson, "your merge_weight vs PEFT merge_and_unload: W", merged,
                                  peft.merge_and_unload().lin.weight))
    return [row for row in rows if row is not None]


def _pair(lesson: StudentCode, name: str, expected: str, value) -> tuple | None:
    """``value`` if it is a pair, else None with a problem line (None stays None: the reason is recorded)."""
    if value is None or (isinstance(value, tuple | list) and len(value) == 2):
        return value
    lesson.problems.append(f"{name}: expected the pair {expected}, got {type(value).__name__}")
    return None


def _safe_compare(lesson: StudentCode, quantity: str, ours, theirs) -> Row | None:
    """``compare``, or None with a problem line when the student's value has the wrong shape or type."""
    try:
        return compare(quantity, ours, theirs)
    except (ValueError, TypeError) as err:
        lesson.problems.append(f"{quantity}: {err}")
        return None
