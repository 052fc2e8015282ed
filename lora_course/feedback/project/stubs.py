"""Lesson 05's handed-out state: a cell that uses tasks not written yet says so in one line, and "Run All" goes on.

Load it once with ``%load_ext lora_course.feedback.project.stubs``; a cell that starts with ``%%after_tasks`` then
runs as usual, except that a stub's ``NotImplementedError`` (a task not written yet), or a name that a skipped cell
would have defined, prints one line instead of a traceback and lets the next cells run. Any other error is raised
as usual. A final expression is shown as in a plain cell.
"""

from __future__ import annotations

import ast
import traceback

SKIPPED: list[str] = []        # what this kernel has skipped so far (a NameError after a skip is a consequence)


def _stub_name(err: BaseException) -> str:
    """The student's stub that raised (``LoRA.__init__``), from the innermost frame."""
    frames = traceback.extract_tb(err.__traceback__)
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    qualname = getattr(tb.tb_frame.f_code, "co_qualname", "") if tb is not None else ""
    return (qualname or (frames[-1].name if frames else "a task")).rsplit("<locals>.", 1)[-1]


def skipped_line(err: BaseException) -> str | None:
    """The one line for ``err`` if it comes from an unwritten task (or follows from one), else None."""
    if isinstance(err, NotImplementedError):
        name = _stub_name(err)
        SKIPPED.append(name)
        return f"⏭ skipped: {name} is not written yet; fill it in above, run its cell, then run this cell again"
    if isinstance(err, NameError) and SKIPPED:
        missing = getattr(err, "name", None) or str(err)
        return f"⏭ skipped: {missing} is not defined yet, because a cell above was skipped ({SKIPPED[-1]} is not " \
               "written yet)"
    return None


def run_after_tasks(cell: str, namespace: dict, shell=None) -> None:
    """Run ``cell`` in ``namespace``; an unwritten task prints one line instead of raising."""
    code = shell.transform_cell(cell) if shell is not None else cell
    tree = ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    try:
        exec(compile(tree, "<cell>", "exec"), namespace)  # noqa: S102 - the student's own cell, as Jupyter runs it
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)  # noqa: S307
            if value is not None and shell is not None:
                shell.displayhook(value)
    except (NotImplementedError, NameError) as err:
        line = skipped_line(err)
        if line is None:
            raise
        print(line)


def load_ipython_extension(ipython) -> None:
    """``%load_ext lora_course.feedback.project.stubs``: registers the ``%%after_tasks`` cell magic."""

    def after_tasks(line: str, cell: str) -> None:
        run_after_tasks(cell, ipython.user_ns, ipython)

    ipython.register_magic_function(after_tasks, "cell", "after_tasks")
