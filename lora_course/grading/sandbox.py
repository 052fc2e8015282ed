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
import ctypes
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lora_course.grading.cgroups import Tree
from lora_course.grading.execution import Execution, execute
from lora_course.grading.kernel import allowed_readonly, launch_spec
from lora_course.grading.settings import Limits, Sandbox, bwrap_works

__all__ = ["Execution", "Limits", "Sandbox", "Tree", "allowed_readonly", "bwrap_works", "launch_spec",
           "prepare_job", "run_in_sandbox"]


def _libc_call(name: str, *args) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")


def mount_job_folder(run: Path, sandbox: Sandbox) -> bool:
    """Mount a tmpfs of ``disk_mb`` on ``run`` (owned by the student's uid) where the grader is root with
    isolation bwrap: whatever the kernel writes in its job folder then ends at that size (ENOSPC)."""
    if sandbox.resolved() != "bwrap":
        return False
    size = sandbox.limits.disk_mb * 1024 * 1024
    options = f"size={size},mode=0700,uid={sandbox.uid},gid={sandbox.uid}".encode()
    _libc_call("mount", b"lora-job", str(run).encode(), b"tmpfs", 0x2 | 0x4, options)    # MS_NOSUID | MS_NODEV
    return True


def unmount_job_folder(run: Path) -> None:
    """Detach the job folder's tmpfs (lazily: nothing of the kernel is left to hold it by then)."""
    try:
        _libc_call("umount2", str(run).encode(), 2)                                       # MNT_DETACH
    except OSError:
        pass


def disk_full(run: Path) -> bool:
    """Whether the job folder's tmpfs is (nearly) full: less than 1 MiB left."""
    try:
        st = os.statvfs(run)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 1024 * 1024


def copy_submission(files_from: Path, work: Path) -> list[str]:
    """Copy the submission's regular files (at most 200 MB) into ``work``; returns a warning for each file
    refused: links, hard links (``st_nlink > 1``: perhaps to a file the student could not read), devices,
    FIFOs and sockets are never copied. Each file is opened once without following links, and checked on
    that open file."""
    warnings, budget = [], 200 * 1024 * 1024
    for src in sorted(Path(files_from).rglob("*")):
        rel = src.relative_to(files_from)
        if any(part.startswith(".") for part in rel.parts):
            continue
        try:
            mode = os.lstat(src).st_mode
        except OSError as err:
            warnings.append(f"{rel}: could not be read ({err.strerror}), not copied")
            continue
        if stat.S_ISLNK(mode):
            warnings.append(f"{rel}: a symbolic link, not copied")
            continue
        if stat.S_ISDIR(mode):
            (work / rel).mkdir(parents=True, exist_ok=True)
            continue
        if not stat.S_ISREG(mode):                 # a FIFO or a device is never opened (opening may block or act)
            warnings.append(f"{rel}: not a regular file, not copied")
            continue
        try:
            fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as err:
            warnings.append(f"{rel}: could not be opened ({err.strerror}), not copied")
            continue
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                warnings.append(f"{rel}: not a regular file, not copied")
            elif st.st_nlink > 1:
                warnings.append(f"{rel}: a hard link ({st.st_nlink} names for one file), not copied")
            elif st.st_size > budget:
                warnings.append(f"{rel}: {st.st_size} bytes, over what is left of the 200 MB copied per "
                                "notebook, not copied")
            else:
                budget -= st.st_size
                (work / rel).parent.mkdir(parents=True, exist_ok=True)
                with open(work / rel, "xb") as out:
                    shutil.copyfileobj(f, out)
    return warnings


def prepare_job(job: Path, files_from: Path | None, sandbox: Sandbox) -> tuple[Path, Path, list[str]]:
    """Make ``job`` (root's: the launch spec), ``job/run`` (the kernel's: sockets, connection file; a tmpfs of
    ``disk_mb`` where the grader is root), ``run/work`` (a copy of the submission's regular files) and
    ``run/chan`` (probe channel: others may create, not list). Returns them and the warnings of the copy."""
    job.mkdir(mode=0o711)
    run = job / "run"
    run.mkdir()
    mount_job_folder(run, sandbox)
    work = run / "work"
    work.mkdir()
    warnings = copy_submission(files_from, work) if files_from is not None else []
    if sandbox.resolved() == "bwrap":
        for path in (run, *run.rglob("*")):
            os.chown(path, sandbox.uid, sandbox.uid, follow_symlinks=False)
        run.chmod(0o700)
    chan = run / "chan"
    chan.mkdir()
    chan.chmod(0o733)
    return run, work, warnings


@dataclass
class JobFolder:
    """A prepared job folder: the run folder (tmpfs under bwrap), the student's work folder, the files refused
    when copying it in, the process tree its programs run in, and whether its folder filled (set on exit)."""

    run: Path
    work: Path
    refused_files: list[str]
    tree: Tree
    disk_full: bool = False


@contextmanager
def job_folder(job: Path, files_from: Path | None, sandbox: Sandbox, name: str) -> Iterator[JobFolder]:
    """Prepare ``job`` (created here; unmounted again if preparing fails) and a process tree named after ``name``;
    on leaving, however it is left, kill every process of the tree and of the grading uid, note whether the
    folder filled its size limit, and unmount it. The kernel and the clean interpreter both run in one."""
    try:
        run, work, refused = prepare_job(job, files_from, sandbox)
    except BaseException:
        unmount_job_folder(job / "run")
        raise
    folder = JobFolder(run, work, refused, Tree(f"{name}-{os.getpid()}-{secrets.token_hex(4)}", sandbox.limits,
                                                use_cgroups=sandbox.resolved() == "bwrap"))
    try:
        yield folder
    finally:
        folder.tree.destroy(uid=sandbox.teardown_uid())
        folder.disk_full = sandbox.resolved() == "bwrap" and disk_full(run)
        unmount_job_folder(run)


def run_in_sandbox(sources: list[str], probes: list[tuple[str, str]], job: Path, files_from: Path | None,
                   sandbox: Sandbox) -> Execution:
    """Execute ``sources`` then each probe ``(channel file name, expression)`` in one fresh sandboxed kernel.

    ``job`` is created here; the kernel's cgroups are removed and every process it left is killed before
    this returns.
    """
    with job_folder(job, files_from, sandbox, "lora-grade") as folder:
        coroutine = execute(sources, probes, job, folder.run, folder.work, sandbox, folder.tree)
        try:
            asyncio.get_running_loop()
        except RuntimeError:              # the usual case: no event loop in this thread
            result = asyncio.run(coroutine)
        else:
            # Called from inside a running loop (Jupyter, or a test session that drives a browser):
            # give the kernel its own loop in a worker thread.
            with ThreadPoolExecutor(max_workers=1) as pool:
                result = pool.submit(asyncio.run, coroutine).result()
    result.disk_full, result.refused_files = folder.disk_full, folder.refused_files
    return result
