"""Run untrusted notebook code in a fresh kernel inside an allow-list sandbox (bubblewrap).

The kernel command is ``python -I -m lora_course.grading.launch SPEC`` (see launch.py), which, as root:

    joins the notebook's own cgroups (memory, pids, cpuacct, freezer: limits over the whole process tree)
    opens the allow-listed folders, drops to the student's own uid, sets per-process rlimits, then
    bwrap --unshare-all --disable-userns --die-with-parent
          a new root holding only: /usr (read-only), the interpreter's prefix, the virtual environment and the
          lora_course package (read-only), the notebook's own job folder (read-write); fresh /proc and /dev;
          private size-capped tmpfs /tmp and /dev/shm; new PID, IPC, network, UTS and user namespaces
      python -I -m ipykernel_launcher -f CONNECTION_FILE      (-I: nothing in the work folder shadows it)

The kernel talks to the grader over Unix sockets (ZeroMQ ``ipc``) in its job folder, so it needs no
network at all. Time limits are **CPU seconds of the whole kernel tree** (from the cgroup's cpuacct, else
from /proc), so a busy machine does not make a correct notebook time out; a generous wall-clock bound
catches a cell that sleeps. After each notebook every process left in its cgroup is killed and the
cgroups are removed; /tmp, /dev/shm and SysV IPC die with the namespaces. See docs/instructor_guide.md.

This module is the entry point (``prepare_job``, ``run_in_sandbox``) and re-exports the public names of its parts:
settings.py (``Limits``, ``Sandbox``, ``bwrap_works``), cgroups.py (``Tree``), kernel.py (the kernel command:
``allowed_readonly``, ``launch_spec``) and execution.py (the supervised cell loop, ``Execution``).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lora_course.grading.cgroups import Tree
from lora_course.grading.execution import Execution, execute
from lora_course.grading.kernel import allowed_readonly, launch_spec
from lora_course.grading.settings import Limits, Sandbox, bwrap_works

__all__ = ["Execution", "Limits", "Sandbox", "Tree", "allowed_readonly", "bwrap_works", "launch_spec",
           "prepare_job", "run_in_sandbox"]


def prepare_job(job: Path, files_from: Path | None, sandbox: Sandbox) -> tuple[Path, Path]:
    """Make ``job`` (root's: the launch spec), ``job/run`` (the kernel's: sockets, connection file), ``run/work``
    (a copy of the submission's regular files) and ``run/chan`` (probe channel: others may create, not list)."""
    job.mkdir(mode=0o711)
    run = job / "run"
    work = run / "work"
    work.mkdir(parents=True)
    if files_from is not None:
        budget = 200 * 1024 * 1024
        for src in sorted(Path(files_from).rglob("*")):
            rel = src.relative_to(files_from)
            if src.is_symlink() or any(part.startswith(".") for part in rel.parts):
                continue
            if src.is_dir():
                (work / rel).mkdir(parents=True, exist_ok=True)
            elif src.is_file() and src.stat().st_size <= budget:
                budget -= src.stat().st_size
                (work / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, work / rel, follow_symlinks=False)
    if sandbox.resolved() == "bwrap":
        for path in (run, *run.rglob("*")):
            os.chown(path, sandbox.uid, sandbox.uid, follow_symlinks=False)
        run.chmod(0o700)
    chan = run / "chan"
    chan.mkdir()
    chan.chmod(0o733)
    return run, work


def run_in_sandbox(sources: list[str], probes: list[tuple[str, str]], job: Path, files_from: Path | None,
                   sandbox: Sandbox) -> Execution:
    """Execute ``sources`` then each probe ``(channel file name, expression)`` in one fresh sandboxed kernel.

    ``job`` is created here; the kernel's cgroups are removed and every process it left is killed before
    this returns.
    """
    run, work = prepare_job(job, files_from, sandbox)
    tree = Tree(f"lora-grade-{os.getpid()}-{secrets.token_hex(4)}", sandbox.limits,
                use_cgroups=sandbox.resolved() == "bwrap")
    coroutine = execute(sources, probes, job, run, work, sandbox, tree)
    try:
        try:
            asyncio.get_running_loop()
        except RuntimeError:              # the usual case: no event loop in this thread
            return asyncio.run(coroutine)
        # Called from inside a running loop (Jupyter, or a test session that drives a browser):
        # give the kernel its own loop in a worker thread.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, coroutine).result()
    finally:
        tree.destroy(uid=sandbox.uid if sandbox.resolved() == "bwrap" else None)
