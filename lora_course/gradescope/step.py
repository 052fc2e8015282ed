"""The grading child of ``run_autograder``: ``python -I -m lora_course.gradescope.step FD``, fed a job on stdin.

It grades one notebook with the grader's public batch entry (``grading.batch.load_plan`` and ``grade_batch``, what
``lora-course grade`` calls), so every change to the grader is picked up, and writes the item results as JSON to
file descriptor FD, a pipe from its parent that its kernels do not inherit. Where the container refuses
bubblewrap to root, the parent starts this child as a fresh unprivileged uid (isolation.py), the uid the
notebook's kernel then also runs as. So that the kernel cannot reach what the child holds:

- the child makes itself non-dumpable first: a process of the same uid can then neither read its memory nor
  open its file descriptors through ``/proc`` (the pipe included);
- the solution notebook arrives on stdin and is written to a private folder only for ``load_plan`` to read, which
  is deleted before any kernel starts.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

PR_SET_DUMPABLE = 4


def not_dumpable() -> None:
    """prctl(PR_SET_DUMPABLE, 0): /proc/<this pid>/{mem,fd,environ} become root's, ptrace is refused."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def item_report(result) -> dict:
    """An ItemResult as JSON: score (None for manual items), verdict word, message, hint."""
    return {"score": result.score, "result": result.result, "message": result.message, "hint": result.hint}


def grade(job: dict) -> dict:
    """Grade ``job['folder']/job['notebook']`` against the solution in ``job['solution']`` (notebook JSON text)."""
    from lora_course.grading.batch import grade_batch, load_plan, new_workroot
    from lora_course.grading.sandbox import Limits, Sandbox

    limits = Limits(**job["limits"])
    sandbox = Sandbox(isolation=job["isolation"], limits=limits, uid=int(job["kernel_uid"]))
    name = job["notebook"]
    private = Path(tempfile.mkdtemp(prefix="lora-gradescope-rubric-"))
    workroot = new_workroot()
    try:
        (private / name).write_text(job.pop("solution"), encoding="utf-8")
        plan = load_plan(private, [name], sandbox, workroot, seed=int(job["seed"]))
        shutil.rmtree(private)                                   # gone before any kernel starts
        student = grade_batch([Path(job["folder"])], plan, jobs=1, progress=False)[0]
    finally:
        shutil.rmtree(private, ignore_errors=True)
        shutil.rmtree(workroot, ignore_errors=True)
    notebook = student.notebooks[0]
    return {"status": notebook.status, "reasons": list(notebook.reasons), "notes": list(notebook.notes),
            "items": {r.item.grade_id: item_report(r) for r in notebook.results}}


def main(argv: list[str]) -> int:
    not_dumpable()
    out_fd = int(argv[1])
    job = json.loads(sys.stdin.read())
    sys.stdin.close()
    try:
        report = grade(job)
    except Exception as err:  # noqa: BLE001 - the parent turns any failure into one failed test
        report = {"status": "error", "reasons": [f"grader error: {type(err).__name__}: {err}"], "notes": [],
                  "items": {}}
    with os.fdopen(out_fd, "w", encoding="utf-8") as out:
        json.dump(report, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
