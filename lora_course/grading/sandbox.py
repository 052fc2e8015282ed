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
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

ISOLATIONS = ("auto", "bwrap", "user", "none")
BWRAP = "/usr/bin/bwrap"
CONTROLLERS = ("memory", "pids", "cpuacct", "freezer")
CHANNEL_BYTES = 64_000_000


@dataclass(frozen=True)
class Limits:
    """Per-cell and per-notebook CPU seconds (whole kernel tree), wall-clock backstops, and memory/process caps.

    ``wall_factor``: a cell (or the notebook) may take this many times its CPU limit in wall-clock time,
    plus 30 s, before it is stopped anyway (a cell that sleeps uses no CPU).
    """

    cell_seconds: float = 60.0
    notebook_seconds: float = 600.0
    memory_mb: int = 2048
    file_mb: int = 64
    processes: int = 256
    tmp_mb: int = 256
    wall_factor: float = 10.0

    def __post_init__(self) -> None:
        for name in ("cell_seconds", "notebook_seconds", "memory_mb", "file_mb", "processes", "tmp_mb",
                     "wall_factor"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name}: expected a number > 0, got {value!r}")

    def wall(self, cpu_seconds: float) -> float:
        return self.wall_factor * cpu_seconds + 30


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


# ---------------------------------------------------------------- cgroups: limits and accounting over the tree


def _own_cgroups() -> dict[str, Path]:
    """Writable cgroup folders of this process for each controller (v1 hierarchies, or the v2 one)."""
    found: dict[str, Path] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        _, names, path = line.split(":", 2)
        for name in names.split(","):
            if name in CONTROLLERS:
                base = Path("/sys/fs/cgroup") / name / path.lstrip("/")
                if base.is_dir() and os.access(base, os.W_OK):
                    found[name] = base
    v2 = Path("/sys/fs/cgroup/cgroup.controllers")
    if not found and v2.exists():
        own = next((line.split(":", 2)[2] for line in lines if line.startswith("0::")), None)
        base = Path("/sys/fs/cgroup") / (own or "/").lstrip("/")
        if os.access(base, os.W_OK) and {"memory", "pids"} <= set(v2.read_text().split()):
            found["v2"] = base
    return found


class Tree:
    """The cgroups (or, without them, the /proc descendants) of one notebook's kernel: limits, CPU, teardown."""

    def __init__(self, name: str, limits: Limits, use_cgroups: bool) -> None:
        self.limits = limits
        self.dirs: dict[str, Path] = {}
        self.root_pid: int | None = None
        if not use_cgroups:
            return
        for ctrl, base in _own_cgroups().items():
            _remove_stale(base)
            path = base / name
            try:
                path.mkdir()
            except OSError:
                continue
            self.dirs[ctrl] = path
        mem = limits.memory_mb * 1024 * 1024
        try:
            if "memory" in self.dirs:
                (self.dirs["memory"] / "memory.limit_in_bytes").write_text(str(mem))
                swap = self.dirs["memory"] / "memory.memsw.limit_in_bytes"
                if swap.exists():
                    swap.write_text(str(mem))
            if "pids" in self.dirs:
                (self.dirs["pids"] / "pids.max").write_text(str(limits.processes))
            if "v2" in self.dirs:
                (self.dirs["v2"] / "memory.max").write_text(str(mem))
                (self.dirs["v2"] / "memory.swap.max").write_text("0")
                (self.dirs["v2"] / "pids.max").write_text(str(limits.processes))
        except OSError:
            self.destroy()
            self.dirs = {}

    @property
    def bounded(self) -> bool:
        """Memory and process count capped over the whole tree."""
        return "v2" in self.dirs or {"memory", "pids"} <= set(self.dirs)

    def procs_files(self) -> list[str]:
        return [str(p / "cgroup.procs") for p in self.dirs.values()]

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by every process of the tree (exited ones included, with cgroups)."""
        if "cpuacct" in self.dirs:
            try:
                return int((self.dirs["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
            except (OSError, ValueError):
                pass
        if "v2" in self.dirs:
            try:
                for line in (self.dirs["v2"] / "cpu.stat").read_text().splitlines():
                    if line.startswith("usage_usec"):
                        return int(line.split()[1]) / 1e6
            except (OSError, ValueError):
                pass
        return _proc_tree_cpu(self.root_pid) if self.root_pid else 0.0

    def kernel_pid(self) -> int | None:
        """The kernel's own process (the shallowest ``ipykernel_launcher`` below the launcher), host pid."""
        level = [self.root_pid] if self.root_pid else []
        for _ in range(6):
            for pid in level:
                try:
                    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                    if b"bwrap" not in argv[0] and b"ipykernel_launcher" in argv:
                        return pid
                except OSError:
                    pass
            level = [c for pid in level for c in _children(pid)]
        return None

    def oom_killed(self) -> bool:
        """Whether the memory limit of the tree was hit (a process was refused memory or killed for it)."""
        try:
            if "memory" in self.dirs:
                mem = self.dirs["memory"]
                control = (mem / "memory.oom_control").read_text().split()
                kills = int(control[control.index("oom_kill") + 1]) if "oom_kill" in control else 0
                peak = int((mem / "memory.max_usage_in_bytes").read_text())
                limit = int((mem / "memory.limit_in_bytes").read_text())
                return kills > 0 or int((mem / "memory.failcnt").read_text()) > 0 or peak >= limit
            if "v2" in self.dirs:
                events = (self.dirs["v2"] / "memory.events").read_text().split()
                return any(int(events[i + 1]) > 0 for i, k in enumerate(events) if k in ("max", "oom_kill"))
        except (OSError, ValueError, IndexError):
            pass
        return False

    def pids(self) -> set[int]:
        found: set[int] = set()
        for path in self.dirs.values():
            try:
                found |= {int(p) for p in (path / "cgroup.procs").read_text().split()}
            except (OSError, ValueError):
                pass
        return found

    def destroy(self, uid: int | None = None) -> None:
        """Kill every process left in the tree (and, given ``uid``, wait until none of that uid still runs),
        then remove the cgroups."""
        freezer = self.dirs.get("freezer")
        for _ in range(100):
            left = self.pids()
            if not left:
                break
            if freezer:
                _write(freezer / "freezer.state", "FROZEN")
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            if freezer:
                _write(freezer / "freezer.state", "THAWED")
            time.sleep(0.05)
        for _ in range(200 if uid is not None else 0):
            left = _running_as(uid)
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.05)
        for path in self.dirs.values():
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.05)


def _running_as(uid: int) -> list[int]:
    """Processes of ``uid`` that still run or are exiting (zombies, already dead, are left out)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
            uid_line = text.split("\nUid:", 1)[1].split()[0]
            state = text.split("\nState:", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if int(uid_line) == uid and state not in ("Z", "X"):
            found.append(int(status.parent.name))
    return found


def _remove_stale(base: Path) -> None:
    """Remove empty ``lora-grade-<pid>-*`` cgroups of graders that no longer run (one killed mid-batch)."""
    for path in base.glob("lora-grade-*"):
        try:
            pid = int(path.name.split("-")[2])
        except (IndexError, ValueError):
            continue
        if not Path(f"/proc/{pid}").exists():
            try:
                path.rmdir()
            except OSError:
                pass


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text)
    except OSError:
        pass


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for task in Path(f"/proc/{pid}/task").iterdir()
                for c in (task / "children").read_text().split()]
    except (OSError, ValueError):
        return []


def _proc_tree_cpu(root: int) -> float:
    """CPU seconds (user + system, with reaped children) of ``root`` and its live descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo, seen = 0.0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15]) / tick
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue
    return total


# ---------------------------------------------------------------- the kernel command


def kernel_env(home: Path) -> dict[str, str]:
    """The kernel's whole environment: nothing of the grader's (no tokens, no paths) is passed on."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "TMPDIR": "/tmp",
        "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(home / ".matplotlib"),
        "IPYTHONDIR": str(home / ".ipython"), "JUPYTER_PLATFORM_DIRS": "1", "PYTHONHASHSEED": "0",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONDONTWRITEBYTECODE": "1",
    }


def package_dir() -> Path:
    """The lora_course package folder (what the lessons import)."""
    return Path(__file__).resolve().parent.parent


def allowed_readonly(sandbox: Sandbox) -> list[str]:
    """The read-only allow-list: /usr, the interpreter's prefix, the virtual environment, the package, extras."""
    paths = [Path("/usr"), Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
             Path(sys.executable).resolve().parent.parent, package_dir()]
    if Path("/etc/ld.so.cache").exists():
        paths.append(Path("/etc/ld.so.cache"))
    paths += [Path(p).resolve() for p in sandbox.readonly]
    kept: list[Path] = []
    for p in dict.fromkeys(paths):
        if p.exists() and not any(k == p or k in p.parents for k in kept):
            kept = [k for k in kept if p not in k.parents] + [p]
    return [str(p) for p in kept]


def launch_spec(sandbox: Sandbox, connection_file: str, run_dir: Path, work: Path, tree: Tree) -> dict:
    """What launch.py needs to start one kernel (written by the grader, read by root only)."""
    mode, lim = sandbox.resolved(), sandbox.limits
    mem = lim.memory_mb * 1024 * 1024
    rlimits = {"RLIMIT_AS": mem, "RLIMIT_CORE": 0, "RLIMIT_FSIZE": lim.file_mb * 1024 * 1024,
               "RLIMIT_NPROC": lim.processes,
               "RLIMIT_CPU": int(lim.notebook_seconds + 2 * lim.cell_seconds + 60)}
    symlinks = [(f"/{name}", os.readlink(f"/{name}")) for name in ("bin", "lib", "lib64", "sbin")
                if os.path.islink(f"/{name}")]
    return {
        "bwrap": BWRAP, "uid": sandbox.uid if mode == "bwrap" else None, "connection_file": connection_file,
        "cgroup_procs": tree.procs_files() if mode == "bwrap" else [], "rlimits": rlimits, "symlinks": symlinks,
        "ro": allowed_readonly(sandbox), "rw": [str(run_dir)], "stage": str(run_dir.parent / "stage"),
        "tmp_bytes": lim.tmp_mb * 1024 * 1024,
        "env": kernel_env(work), "cwd": str(work),
        "command": [sys.executable, "-I", "-m", "ipykernel_launcher", "-f", connection_file],
    }


class FencedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel starts through launch.py (or, with isolation none, with rlimits only)."""

    sandbox: Sandbox = Sandbox()
    spec_file: Path = Path(".")
    work: Path = Path(".")

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        conn = os.path.realpath(self.connection_file)
        if self.sandbox.resolved() == "none":
            lim = self.sandbox.limits
            return ["prlimit", f"--as={lim.memory_mb * 1024 * 1024}", f"--fsize={lim.file_mb * 1024 * 1024}",
                    f"--nproc={lim.processes}", "--core=0", "--", "env", "-i",
                    *(f"{k}={v}" for k, v in kernel_env(self.work).items()),
                    sys.executable, "-I", "-m", "ipykernel_launcher", "-f", conn]
        return [sys.executable, "-I", "-m", "lora_course.grading.launch", str(self.spec_file)]


# ---------------------------------------------------------------- running a notebook


@dataclass
class Execution:
    """Each cell's and each probe's outputs; which timed out; whether the kernel died or ran out of time."""

    outputs: list[list[dict]] = field(default_factory=list)
    timed_out_cells: list[int] = field(default_factory=list)
    notebook_timeout: bool = False
    died: str = ""
    memory_limit: bool = False
    probe_payloads: list[bytes | None] = field(default_factory=list)
    probe_errors: list[str] = field(default_factory=list)
    timed_out_probes: list[int] = field(default_factory=list)
    cpu_seconds: float = 0.0
    stalled: bool = False


class _NotebookOver(Exception):
    """The notebook's CPU or wall-clock budget ran out, or a cell ignored an interrupt."""


class _Stalled(Exception):
    """The kernel tree used (almost) no CPU for STALL_SECONDS while a cell or probe was pending."""


STALL_SECONDS = 90.0


class _Client(NotebookClient):
    """nbclient's client without its own timeouts: the supervisor below enforces CPU-time limits."""


def _abandon(task: asyncio.Task) -> None:
    """Cancel a cell's task; whatever it ends with is not needed any more (the kernel is stopped next)."""
    task.cancel()
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


async def _supervise(task: asyncio.Task, km: AsyncKernelManager, tree: Tree, lim: Limits,
                     budget: dict) -> bool:
    """Wait for one cell (or probe); interrupt it past its CPU (or wall) limit; returns whether it was interrupted.

    Raises _NotebookOver if the notebook's budget runs out or the cell ignores the interrupt for 3 CPU s / 30 s,
    and _Stalled if the kernel's processes use no CPU for STALL_SECONDS while it is pending (a sleeping cell,
    or a reply that never came).
    """
    cpu0, wall0 = tree.cpu_seconds(), time.monotonic()
    interrupted: tuple[float, float] | None = None
    progress = (cpu0, wall0)
    while not task.done():
        await asyncio.wait({task}, timeout=0.1)
        cpu, wall = tree.cpu_seconds(), time.monotonic()
        if cpu - progress[0] > 0.1:
            progress = (cpu, wall)
        elif wall - progress[1] > STALL_SECONDS and not task.done():
            _abandon(task)
            raise _Stalled
        if cpu - budget["cpu0"] > lim.notebook_seconds or wall - budget["wall0"] > lim.wall(lim.notebook_seconds):
            _abandon(task)
            raise _NotebookOver
        if interrupted is None and (cpu - cpu0 > lim.cell_seconds or wall - wall0 > lim.wall(lim.cell_seconds)):
            interrupted = (cpu, wall)
            await _interrupt(km, tree)
        elif interrupted and (cpu - interrupted[0] > 3 or wall - interrupted[1] > 30):
            _abandon(task)
            raise _NotebookOver
    task.result()
    return interrupted is not None


async def _interrupt(km: AsyncKernelManager, tree: Tree) -> None:
    """SIGINT to the kernel process itself (a signal to its process group would also stop bwrap)."""
    pid = tree.kernel_pid()
    try:
        if pid is not None:
            os.kill(pid, signal.SIGINT)
        elif km.sandbox.resolved() == "none":
            await km.interrupt_kernel()
    except Exception:  # noqa: BLE001, S110 - it died meanwhile: the task ends with the death
        pass


async def _probe(client: NotebookClient, expression: str) -> dict:
    """Evaluate one probe through ``user_expressions`` of a silent execute request (no IPython input
    transformers, cell events or display hooks run for it); returns the reply's content."""
    msg_id = client.kc.execute("", silent=True, store_history=False, user_expressions={"probe": expression},
                               stop_on_error=False)
    while True:
        msg = await client.kc.get_shell_msg(timeout=None)
        if msg.get("parent_header", {}).get("msg_id") == msg_id:
            return msg["content"]


def read_channel(path: Path) -> bytes | None:
    """The bytes a probe wrote to its channel file (a regular file, never followed if a link), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not os.path.stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None
        data = f.read(CHANNEL_BYTES + 1)
    return data if len(data) <= CHANNEL_BYTES else None


async def _execute(sources: list[str], probes: list[tuple[str, str]], job: Path, run: Path, work: Path,
                   sandbox: Sandbox, tree: Tree) -> Execution:
    lim = sandbox.limits
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    km = FencedKernelManager(kernel_name="python3", transport="ipc", ip=str(run / "zmq"),
                             connection_file=str(run / "connection.json"))
    km.sandbox, km.spec_file, km.work = sandbox, job / "spec.json", work
    conn = os.path.realpath(km.connection_file)
    spec = launch_spec(sandbox, conn, run, work, tree)
    fd = os.open(job / "spec.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(spec, f)
    client = _Client(nb, km=km, timeout=None, startup_timeout=300, allow_errors=True, record_timing=False,
                     shutdown_kernel="immediate", resources={"metadata": {"path": str(work)}})
    result = Execution()
    with open(job / "kernel.log", "wb") as log:
        try:
            async with client.async_setup_kernel(stdout=log, stderr=log):
                if km.provisioner is not None:
                    tree.root_pid = getattr(km.provisioner, "pid", None)
                budget = {"cpu0": tree.cpu_seconds(), "wall0": time.monotonic()}
                for index, cell in enumerate(nb.cells):
                    task = asyncio.ensure_future(client.async_execute_cell(cell, index))
                    if await _supervise(task, km, tree, lim, budget):
                        result.timed_out_cells.append(index)
                for index, (channel, expression) in enumerate(probes):
                    task = asyncio.ensure_future(_probe(client, expression))
                    if await _supervise(task, km, tree, lim, budget):
                        result.timed_out_probes.append(index)
                    reply = task.result()
                    value = reply.get("user_expressions", {}).get("probe", {})
                    result.probe_payloads.append(read_channel(run / "chan" / channel))
                    result.probe_errors.append(f"{value.get('ename')}: {str(value.get('evalue'))[:200]}"
                                               if value.get("status") == "error" else "")
        except (_NotebookOver, asyncio.TimeoutError):
            result.notebook_timeout = True
        except _Stalled:
            result.notebook_timeout = result.stalled = True
        except DeadKernelError:
            result.died = "the kernel died (killed by a resource limit, or crashed)"
        except Exception as err:  # noqa: BLE001 - whatever went wrong, the batch goes on
            result.died = f"the kernel could not run the notebook: {type(err).__name__}: {err}"
        finally:
            result.cpu_seconds = tree.cpu_seconds()
            atexit.unregister(client._cleanup_kernel)     # nbclient's own exit hook; we stop the kernel here
            try:
                if km.has_kernel:
                    await km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001, S110 - already gone
                pass
    result.memory_limit = tree.oom_killed()
    result.outputs = [list(c.outputs) for c in nb.cells]
    return result


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
    coroutine = _execute(sources, probes, job, run, work, sandbox, tree)
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
