"""Run untrusted notebook code in a fresh, fenced-in Jupyter kernel.

The kernel is started through a wrapper instead of ``python -m ipykernel_launcher`` directly:

    unshare --mount --pid --net ...   new mount, PID and network namespaces (isolation "root"/"user")
      sh -c 'mount tmpfs over each hidden path; chown the connection file'
        setpriv --reuid UID ...       an unprivileged uid of its own (isolation "root" only)
          prlimit --as --cpu --fsize --nproc --core
            env -i <a few variables>  python -m ipykernel_launcher -f CONNECTION_FILE

The kernel talks to the grader over Unix sockets (ZeroMQ ``ipc``) in its job folder, so it needs no
network at all. Killing the kernel's process group ends the namespace's first process, which takes
every process the student started with it. See docs/instructor_guide.md for what this does not cover.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shlex
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

ISOLATIONS = ("auto", "root", "user", "none")



def _blocking_ancestor(path: Path) -> Path | None:
    """The highest folder above ``path`` that other users cannot enter (e.g. /root), if any."""
    for parent in reversed(path.parents):
        if parent != Path("/") and not parent.stat().st_mode & 0o001:
            return parent
    return None


def namespace_script(sandbox: Sandbox, connection_file: str, stash: Path, command: list[str]) -> str:
    """Shell run as root inside the new namespaces: hide paths, re-expose the interpreter and the course
    package (an editable install imports it from the course folder, wherever that is), then run."""
    q = shlex.quote
    lines = ["set -e"]
    package = Path(__file__).resolve().parent.parent
    needed = [Path(p).resolve() for p in (sys.base_prefix, sys.prefix)] + [package]
    exposed = [(p, a) for p in dict.fromkeys(needed) if (a := _blocking_ancestor(p)) is not None]
    for i, (path, _) in enumerate(exposed):
        lines += [f"mkdir -p {q(str(stash / str(i)))}", f"mount --bind {q(str(path))} {q(str(stash / str(i)))}"]
    for ancestor in dict.fromkeys(a for _, a in exposed):
        lines.append(f"mount -t tmpfs -o size=64k,mode=0755 lora-hidden {q(str(ancestor))}")
    for i, (path, _) in enumerate(exposed):
        lines += [f"mkdir -p {q(str(path))}", f"mount --bind {q(str(stash / str(i)))} {q(str(path))}"]
    for hidden in sandbox.hidden:
        h = q(hidden)
        lines.append(f"if [ -d {h} ]; then mount -t tmpfs -o size=4k,mode=0555 lora-hidden {h}; "
                     f"elif [ -e {h} ]; then mount --bind /dev/null {h}; fi")
    if sandbox.resolved() == "root":
        lines.append(f"chown {sandbox.uid}:{sandbox.uid} {q(connection_file)}")
    lines.append(" ".join(q(c) for c in command))
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Limits:
    """Per-cell and per-notebook wall-clock seconds, and the kernel process's resource limits."""

    cell_seconds: float = 60.0
    notebook_seconds: float = 600.0
    memory_mb: int = 2048
    cpu_seconds: int = 900
    file_mb: int = 64
    processes: int = 256

    def __post_init__(self) -> None:
        for name in ("cell_seconds", "notebook_seconds", "memory_mb", "cpu_seconds", "file_mb", "processes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name}: expected a number > 0, got {value!r}")


@dataclass(frozen=True)
class Sandbox:
    """How to fence the kernel: isolation mode, the paths it must not see, and the uid it runs as."""

    isolation: str = "auto"
    hidden: tuple[str, ...] = ()
    uid: int = 61000
    limits: Limits = field(default_factory=Limits)

    def resolved(self) -> str:
        """The isolation actually used: ``auto`` becomes ``root`` (as root), else ``user`` or ``none``."""
        if self.isolation not in ISOLATIONS:
            raise ValueError(f"isolation: expected one of {ISOLATIONS}, got {self.isolation!r}")
        if self.isolation != "auto":
            return self.isolation
        if not sys.platform.startswith("linux") or not shutil.which("unshare"):
            return "none"
        return "root" if os.geteuid() == 0 and shutil.which("setpriv") else "user"


def kernel_env(home: Path) -> dict[str, str]:
    """The kernel's whole environment: nothing of the grader's (no tokens, no paths) is passed on."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(home),
        "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(home / ".matplotlib"),
        "IPYTHONDIR": str(home / ".ipython"), "JUPYTER_PLATFORM_DIRS": "1", "PYTHONHASHSEED": "0",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }


def kernel_command(sandbox: Sandbox, connection_file: str, workdir: Path) -> list[str]:
    """The argv that starts one fenced kernel (see the module docstring)."""
    mode, lim = sandbox.resolved(), sandbox.limits
    mem = lim.memory_mb * 1024 * 1024
    limited = ["prlimit", f"--as={mem}", f"--cpu={int(lim.cpu_seconds)}", f"--fsize={lim.file_mb * 1024 * 1024}",
               f"--nproc={lim.processes}", "--core=0", "--"]
    env = ["env", "-i", *(f"{k}={v}" for k, v in kernel_env(workdir).items())]
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file]
    if mode == "none":
        return [*limited, *env, *kernel]
    # --pdeathsig: if the grader dies, unshare dies, and --kill-child then ends the whole namespace
    unshare = ["setpriv", "--pdeathsig", "KILL", "unshare", "--mount", "--pid", "--fork", "--kill-child", "--net",
               "--mount-proc", "--propagation", "private"]
    drop = []
    if mode == "user":
        unshare.append("--map-root-user")
    else:
        drop = ["setpriv", f"--reuid={sandbox.uid}", f"--regid={sandbox.uid}", "--clear-groups", "--no-new-privs"]
    script = namespace_script(sandbox, connection_file, workdir.parent / "stash", [*drop, *limited, *env, *kernel])
    return [*unshare, "sh", "-c", script]


class FencedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel starts through :func:`kernel_command`."""

    sandbox: Sandbox = Sandbox()
    workdir: Path = Path(".")

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return kernel_command(self.sandbox, os.path.realpath(self.connection_file), self.workdir)


@dataclass
class Execution:
    """Each cell's and each probe's outputs; which timed out; whether the kernel died or ran out of time."""

    outputs: list[list[dict]] = field(default_factory=list)
    timed_out_cells: list[int] = field(default_factory=list)
    notebook_timeout: bool = False
    died: str = ""
    probe_outputs: list[list[dict]] = field(default_factory=list)
    timed_out_probes: list[int] = field(default_factory=list)


class _Client(NotebookClient):
    """nbclient's client, remembering which cells ran over their time (it then interrupts the kernel)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timed_out: list[int] = []
        self.current = -1
        self.deadline = float("inf")

    def _get_timeout(self, cell=None) -> int:
        """The cell's limit, cut short by the notebook's deadline (the probes get a fresh deadline)."""
        left = self.deadline - time.monotonic()
        return max(1, int(min(float(self.timeout), left) + 0.999))

    async def _async_handle_timeout(self, timeout, cell=None):
        self.timed_out.append(self.current)
        return await super()._async_handle_timeout(timeout, cell)


async def _answers(client: NotebookClient, seconds: float = 5.0) -> bool:
    """Whether the kernel is idle again (answers a kernel_info request) within ``seconds``."""
    try:
        await client.kc.kernel_info(reply=True, timeout=seconds)
        return True
    except Exception:  # noqa: BLE001 - a timeout, or a closed channel: either way it does not answer
        return False


def prepare_workdir(job: Path, files_from: Path | None, sandbox: Sandbox) -> Path:
    """Make the kernel's private folder ``job/work`` (a copy of the submission's regular files)."""
    work = job / "work"
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
                shutil.copyfile(src, work / rel)
    if sandbox.resolved() == "root":
        for path in (job, *job.rglob("*")):
            os.chown(path, sandbox.uid, sandbox.uid, follow_symlinks=False)
        job.chmod(0o700)
    return work


async def _execute(sources: list[str], probes: list[str], job: Path, work: Path, sandbox: Sandbox) -> Execution:
    lim = sandbox.limits
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in [*sources, *probes]]
    n_cells = len(sources)
    km = FencedKernelManager(kernel_name="python3", transport="ipc", ip=str(job / "zmq"),
                             connection_file=str(job / "connection.json"))
    km.sandbox, km.workdir = sandbox, work
    client = _Client(nb, km=km, timeout=int(max(1, lim.cell_seconds)), startup_timeout=60, allow_errors=True,
                     interrupt_on_timeout=True, record_timing=False, shutdown_kernel="immediate",
                     error_on_timeout={"ename": "CellTimeout", "evalue": f"over {lim.cell_seconds:g} s",
                                       "traceback": []},
                     resources={"metadata": {"path": str(work)}})
    result = Execution()
    deadline = time.monotonic() + lim.notebook_seconds
    client.deadline = deadline
    with open(job / "kernel.log", "wb") as log:
        try:
            async with client.async_setup_kernel(stdout=log, stderr=log):
                for index, cell in enumerate(nb.cells):
                    client.current = index
                    if index == n_cells:      # the probes get their own time, after the student's
                        client.deadline = float("inf")
                    if time.monotonic() >= client.deadline:
                        raise asyncio.TimeoutError
                    # nbclient interrupts a cell at its limit; this outer bound catches a kernel that ignores it
                    # (nbclient then reports the cancelled cell as a dead kernel)
                    bound, started = lim.cell_seconds + 30, time.monotonic()
                    try:
                        await asyncio.wait_for(client.async_execute_cell(cell, index), bound)
                    except DeadKernelError:
                        if time.monotonic() - started >= bound - 1:   # it was our bound, not a death
                            raise asyncio.TimeoutError from None
                        raise
                    if index in client.timed_out and not await _answers(client):
                        raise asyncio.TimeoutError    # it ignored the interrupt: stop it
                    if index >= n_cells:
                        result.probe_outputs.append(list(cell.outputs))
        except asyncio.TimeoutError:
            result.notebook_timeout = True
        except DeadKernelError:
            result.died = "the kernel died (killed by a resource limit, or crashed)"
        except Exception as err:  # noqa: BLE001 - whatever went wrong, the batch goes on
            result.died = f"the kernel could not run the notebook: {type(err).__name__}: {err}"
        finally:
            atexit.unregister(client._cleanup_kernel)     # nbclient's own exit hook; we stop the kernel here
            try:
                if km.has_kernel:
                    await km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001, S110 - already gone
                pass
    result.outputs = [list(c.outputs) for c in nb.cells[:n_cells]]
    result.timed_out_cells = sorted({i for i in client.timed_out if i < n_cells})
    result.timed_out_probes = sorted({i - n_cells for i in client.timed_out if i >= n_cells})
    return result


def run_in_sandbox(sources: list[str], probes: list[str], job: Path, files_from: Path | None,
                   sandbox: Sandbox) -> Execution:
    """Execute ``sources`` then each probe cell in one fresh fenced kernel whose folder ``job`` is created here."""
    work = prepare_workdir(job, files_from, sandbox)
    coroutine = _execute(sources, probes, job, work, sandbox)
    try:
        asyncio.get_running_loop()
    except RuntimeError:                  # the usual case: no event loop in this thread
        return asyncio.run(coroutine)
    # Called from inside a running loop (Jupyter, or a test session that drives a browser):
    # give the kernel its own loop in a worker thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def paths_to_hide(course_root: Path | None, extra: list[Path]) -> tuple[str, ...]:
    """What the kernel must not see: the course folder (solutions, .git, tests...) except the interpreter's
    environment and the package, plus ``extra`` (submissions, solutions, outputs). Existing paths only."""
    keep = [Path(sys.prefix).resolve(), Path(__file__).resolve().parent.parent]
    hidden: list[Path] = []
    if course_root is not None and Path(course_root).is_dir():
        for entry in sorted(Path(course_root).resolve().iterdir()):
            if not any(k == entry or entry in k.parents for k in keep):
                hidden.append(entry)
    for path in extra:
        path = Path(path).resolve()
        if path.exists() and not any(k == path or path in k.parents for k in keep) and path not in hidden:
            hidden.append(path)
    return tuple(str(p) for p in hidden)
