"""The answer variables' values after running a solution notebook top to bottom, for tests/test_answer_keys.py.

nbval already runs every solution notebook in a kernel of its own (``make test``). When it ran one without a
failure, the root conftest.py reads the answers from that kernel before nbval stops it and stores them in the
run's shared results (tests/shared_cache.py); test_answer_keys.py then reads them instead of running the notebook a
second time. Without such a run (the test file alone, or a cell that failed) the test runs the notebook itself.
Either way the values come from the same notebook bytes, run whole in the course's environment, read by the same
expression.
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

import nbformat

from lora_course.grading.items import items_from_solution

NAMESPACE = "solution-answers"


def answer_names(path: Path) -> list[str]:
    """The answer variables of the notebook's auto-checked items, sorted."""
    nb = nbformat.read(path, as_version=4)
    return sorted({item.target for item in items_from_solution(nb, Path(path).name) if item.kind == "auto"})


def expression(names: list[str]) -> str:
    """A Python expression, evaluated in the notebook's namespace: the answers as JSON text."""
    return f"__import__('json').dumps(dict(zip({names!r}, [{', '.join(names)}])), default=list)"


def cache_inputs(path: Path) -> tuple[str, list]:
    """(namespace, inputs) of a notebook's answers in the shared results: its bytes and the expression."""
    names = answer_names(path)
    return NAMESPACE, [Path(path).name, hashlib.sha256(Path(path).read_bytes()).hexdigest(), expression(names)]


def run_notebook(path: Path) -> dict:
    """Run the notebook with nbclient (in its own folder) and evaluate the expression after its last cell."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(f"print('ANSWERS=' + {expression(answer_names(path))})"))
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(Path(path).parent)}}
                   ).execute()
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    return json.loads(text.split("ANSWERS=", 1)[1])


def read_from_kernel(kc, path: Path, timeout: float = 120) -> dict | None:
    """Evaluate the expression in a kernel that has just run the whole notebook (``kc``: its blocking client, as
    nbval holds it), as a silent request; None if it could not be evaluated."""
    msg_id = kc.execute("", silent=True, store_history=False,
                        user_expressions={"answers": expression(answer_names(path))})
    while True:
        msg = kc.get_shell_msg(timeout=timeout)
        if msg.get("parent_header", {}).get("msg_id") == msg_id:
            break
    value = msg["content"].get("user_expressions", {}).get("answers", {})
    if value.get("status") != "ok":
        return None
    return json.loads(ast.literal_eval(value["data"]["text/plain"]))
