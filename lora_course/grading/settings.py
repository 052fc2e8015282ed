"""The sandbox's settings: resource ``Limits``, the ``Sandbox`` (isolation mode, uid, extra read-only paths),
and whether bubblewrap can build a sandbox on this machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ISOLATIONS = ("auto", "bwrap", "user", "none")
BWRAP = "/usr/bin/bwrap"


@dataclass(frozen=True)
class Limits:
    """Per-cell and per-notebook CPU seconds (whole kernel tree), wall-clock backstops, memory/process caps,
    and the size of the job folder (``disk_mb``: a tmpfs of that size, where the grader runs as root).

    The wall-clock backstop of a cell (or the notebook) is ``wall_factor`` times its CPU limit plus 10 s,
    capped at ``max_wall_seconds`` but never below the CPU limit itself: at the defaults 130 s a cell and
    600 s (10 minutes) a notebook, so a notebook that sleeps, using a little CPU now and then, holds a worker
    for at most 10 minutes.
    """

    cell_seconds: float = 60.0
    notebook_seconds: float = 600.0
    memory_mb: int = 2048
    file_mb: int = 64
    processes: int = 256
    tmp_mb: int = 256
    wall_factor: float = 2.0
    disk_mb: int = 512
    max_wall_seconds: float = 600.0

    def __post_init__(self) -> None:
        for name in ("cell_seconds", "notebook_seconds", "memory_mb", "file_mb", "processes", "tmp_mb",
                     "wall_factor", "disk_mb", "max_wall_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name}: expected a number > 0, got {value!r}")

    def wall(self, cpu_seconds: float) -> float:
        """The wall-clock backstop for a CPU limit of ``cpu_seconds``."""
        return max(cpu_seconds, min(self.wall_factor * cpu_seconds + 10, self.max_wall_seconds))


def bwrap_works(as_uid: int | None = None) -> bool:
    """Whether bubblewrap can build a sandbox here (optionally after dropping to ``as_uid``)."""
    if not sys.platform.startswith("linux") or not Path(BWRAP).exists():
        return False
    cmd = [BWRAP, "--unshare-all", "--unshare-user", "--disable-userns", "--ro-bind", "/usr", "/usr",
           "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
           "--proc", "/proc", "--dev", "/dev", "/usr/bin/true"]
    if as_uid is not None:
        cmd = ["setpriv", f"--reuid={as_uid}", f"--regid={as_uid}", "--clear-groups", *cmd]
    try:
        return subprocess.run(cmd, capture_output=True, check=False, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@dataclass(frozen=True)
class Sandbox:
    """How to fence the kernel: isolation mode, the uid it runs as (one per student), limits, extra read-only paths."""

    isolation: str = "auto"
    uid: int = 61000
    limits: Limits = field(default_factory=Limits)
    readonly: tuple[str, ...] = ()

    def teardown_uid(self) -> int | None:
        """The uid whose every process is killed when a kernel or clean interpreter ends (None: only its tree).

        ``bwrap``: the student's own uid. Otherwise the kernel runs as the grading process's uid, so whatever it
        started outside its process tree (a daemon in a session of its own) would outlive it; where that uid is
        a throwaway one (``uid`` is this process's own unprivileged uid, as ``run_autograder``'s grading child
        sets it), every other process of it is killed, so nothing the notebook started can reach the clean
        interpreter or the grading. Where the grader runs as a person's uid, nothing of theirs is touched."""
        if self.resolved() == "bwrap":
            return self.uid
        return self.uid if self.uid == os.getuid() != 0 else None

    def resolved(self) -> str:
        """``auto`` becomes ``bwrap`` (as root, with its own uid and cgroups), else ``user`` or ``none``."""
        mode = "bwrap" if self.isolation == "root" else self.isolation   # "root": the old name of bwrap
        if mode not in ISOLATIONS:
            raise ValueError(f"isolation: expected one of {ISOLATIONS}, got {self.isolation!r}")
        if mode != "auto":
            return mode
        return _auto_mode()


_AUTO: list[str] = []


def _auto_mode() -> str:
    if not _AUTO:
        if os.geteuid() == 0 and shutil.which("setpriv") and bwrap_works(as_uid=60999):
            _AUTO.append("bwrap")
        else:
            _AUTO.append("user" if os.geteuid() != 0 and bwrap_works() else "none")
    return _AUTO[0]
