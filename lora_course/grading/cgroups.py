"""One notebook's kernel tree: its cgroups (memory, pids, cpuacct, freezer), CPU accounting and teardown.

``Tree`` caps memory and processes over the whole tree, reads the CPU seconds it used (from cpuacct, cpu.stat,
or /proc without cgroups), finds the kernel process, tells an out-of-memory kill, and kills whatever is left.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from lora_course.grading.settings import Limits

CONTROLLERS = ("memory", "pids", "cpuacct", "freezer")
KERNEL_MODULE = b"lora_course.grading.guard"


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
        """The kernel's own process (the shallowest ``lora_course.grading.guard`` or ``ipykernel_launcher``
        below the launcher), host pid."""
        level = [self.root_pid] if self.root_pid else []
        for _ in range(6):
            for pid in level:
                try:
                    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                    if b"bwrap" not in argv[0] and (KERNEL_MODULE in argv or b"ipykernel_launcher" in argv):
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
            if uid == os.getuid() != 0:       # our own throwaway uid: one kill(-1) reaches all of it at once (the
                os.kill(-1, signal.SIGKILL)   # kernel walks its task list under a lock fork waits for), us excepted
                time.sleep(0.05)
                continue
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
    """Processes of ``uid`` that still run or are exiting (zombies, already dead, are left out), this process
    itself excepted (the grading may run as the uid it tears down: see ``Sandbox.teardown_uid``)."""
    found, me = [], os.getpid()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
            uid_line = text.split("\nUid:", 1)[1].split()[0]
            state = text.split("\nState:", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if int(uid_line) == uid and state not in ("Z", "X") and int(status.parent.name) != me:
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
