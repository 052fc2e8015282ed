"""Which fence a Gradescope container allows, found out before grading, and said in ``results.json``.

A Gradescope container runs ``run_autograder`` as root, usually with Docker's default capabilities and seccomp
profile, which refuse the namespaces and mounts bubblewrap needs. The container is then the per-submission
sandbox, and what is left to guard is the grade itself: the student's kernel must not reach the rubric (the
solution notebook) nor ``results.json``. So, strongest first:

- ``bwrap``: root may make mount namespaces and bwrap works for another uid (what ``lora-course grade`` uses on
  the instructor's machine): each kernel in an allow-list sandbox as a uid of its own, cgroups where writable.
- ``user``: bwrap works for an unprivileged uid only: the grading runs as a fresh unprivileged uid (``step_uid``),
  its kernel inside bwrap as that uid.
- ``none``: no bwrap at all: the grading still runs as a fresh unprivileged uid, the kernel with per-process limits.

Only ``run_autograder`` calls :func:`detect`; ``lora-course grade`` keeps its own ``--isolation auto`` and its
warning on the instructor's machine.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass

from lora_course.grading.sandbox import Limits, Tree, bwrap_works

REQUESTS = ("auto", "bwrap", "user", "none")


class IsolationUnavailable(RuntimeError):
    """The isolation the export asked for cannot be built in this container (the message says why)."""


@dataclass(frozen=True)
class Isolation:
    """How a submission is graded: the grader's sandbox mode (never ``auto``), the uid the grading process drops
    to (None: it stays as it is), and whether the kernel's tree gets cgroup limits."""

    mode: str
    step_uid: int | None
    cgroups: bool = False

    def describe(self) -> str:
        """One sentence for ``results.json``'s top-level output."""
        if self.mode == "bwrap":
            limits = "cgroup limits on memory and processes" if self.cgroups else "per-process limits (no cgroups)"
            return ("isolation bwrap: the notebook ran in a bubblewrap sandbox (allow-listed read-only folders, no "
                    f"network) as a uid of its own, with {limits}")
        who = f"an unprivileged uid ({self.step_uid})" if self.step_uid is not None else "this container's user"
        if self.mode == "user":
            return (f"isolation user: root may not build namespaces here, so the grading ran as {who} and the "
                    "notebook in a bubblewrap sandbox (allow-listed read-only folders, no network) as that uid")
        return (f"isolation none: bubblewrap is refused in this container, so the container is the sandbox; the "
                f"grading ran as {who} that cannot read the rubric or write the results, the notebook with "
                "per-process limits")


def root_can_unshare() -> bool:
    """Whether root may make a mount namespace here (the grader's launcher stages folders in one)."""
    if not shutil.which("unshare"):
        return False
    try:
        return subprocess.run(["unshare", "--mount", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def cgroups_writable() -> bool:
    """Whether this process may make the cgroups that bound a kernel's whole tree (memory and processes)."""
    tree = Tree(f"lora-gradescope-probe-{os.getpid()}", Limits(), use_cgroups=True)
    try:
        return tree.bounded
    finally:
        tree.destroy()


def fresh_uid() -> int:
    """An unprivileged uid no account uses: the grading process's, for one submission."""
    return 200_000_000 + secrets.randbelow(1_000_000) * 1000


def detect(requested: str = "auto", step_uid: int | None = None) -> Isolation:
    """The strongest isolation allowed here that ``requested`` accepts (``auto``: any, strongest first).

    Raises IsolationUnavailable when ``requested`` names a mode that this machine refuses: never a silent
    downgrade of an explicit choice.
    """
    if requested == "root":
        requested = "bwrap"
    if requested not in REQUESTS:
        raise ValueError(f"isolation: expected one of {REQUESTS}, got {requested!r}")
    if os.geteuid() != 0:
        if requested == "bwrap":
            raise IsolationUnavailable("isolation bwrap needs root; run_autograder runs as uid "
                                       f"{os.geteuid()}")
        works = bwrap_works()
        if requested == "user" and not works:
            raise IsolationUnavailable("isolation user: bubblewrap cannot build a sandbox here")
        return Isolation("user" if works and requested != "none" else "none", None)
    if requested in ("auto", "bwrap"):
        if shutil.which("setpriv") and root_can_unshare() and bwrap_works(as_uid=60999):
            return Isolation("bwrap", None, cgroups_writable())
        if requested == "bwrap":
            raise IsolationUnavailable("isolation bwrap: this container refuses root's mount namespaces or "
                                       "bubblewrap (/usr/bin/bwrap) for another uid")
    uid = step_uid if step_uid is not None else fresh_uid()
    if requested == "none":
        return Isolation("none", uid)
    works = bwrap_works(as_uid=uid) if shutil.which("setpriv") else False
    if requested == "user" and not works:
        raise IsolationUnavailable("isolation user: bubblewrap cannot build a sandbox for an unprivileged uid here")
    return Isolation("user" if works else "none", uid)
