"""The second, clean interpreter that decides implement-it items: the student's answer cells alone, in a sandbox
where the package's reference does not exist.

After the notebook ran in its kernel, the grader starts ``python -I -c <clean_driver>`` inside the same fence
(launch.py: the student's uid, the notebook's cgroups, bwrap) with one difference: the package's folder is not
bound (and is covered by an empty tmpfs wherever a bound folder holds it), so its files cannot be imported or
read. The driver gets, on stdin, the student's view of the package (student_view.py), the solution's setup, the
student's answer cells (by cell id, never an added cell), the checks' collect source (collect_source.py) and the
grader's inputs; it answers one JSON line per step on the stdout pipe the grader opened. Each cell and each check
has the per-cell CPU limit (SIGINT, then the whole tree is stopped), and the run has the notebook's budget.
Anything on the channel that is not the next expected line marks the run as tampered with.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lora_course.grading.cgroups import Tree
from lora_course.grading.kernel import kernel_env, launch_spec, package_dir
from lora_course.grading.probe import encode_value
from lora_course.grading.sandbox import job_folder
from lora_course.grading.settings import Sandbox

DRIVER = Path(__file__).with_name("clean_driver.py")
LINE_BYTES = 64_000_000
GRACE_CPU, GRACE_WALL = 3.0, 30.0


@dataclass
class CleanResult:
    """What came back: each check's payload (as the probes' ``{"part": "project", ...}``), the reference attempts,
    hooks and run-time compiled text the driver saw, cell errors, and what went wrong with the run itself."""

    payloads: dict[str, dict] = field(default_factory=dict)
    attempts: list[dict] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)
    compiled: list[dict] = field(default_factory=list)       # {"text", "names"}: text compiled at run time
    cell_errors: dict[str, list[str]] = field(default_factory=dict)
    timed_out: list[str] = field(default_factory=list)
    problem: str = ""                  # the run ended early (killed, budget, died)
    tampered: str = ""                 # the channel carried something the grader did not ask for
    cpu_seconds: float = 0.0

    def record(self, msg: dict, step: str, pending: list[dict]) -> None:
        """One record the driver's audit hook sent as it was made, or the names a statement bound and changed
        (``names``: they tell whose the records since the last statement are). ``step`` is the grader's own
        ``cell:<id>`` or ``check:<name>`` the record arrived in; nothing of it is taken from the driver."""
        kind, _, name = step.partition(":")
        if msg.get("event") == "names":
            names = {str(n)[:100] for n in msg.get("names", [])[:200]} if isinstance(msg.get("names"), list) else set()
            for entry in pending:
                entry["names"] = sorted(set(entry["names"]) | names)
            pending.clear()
            return
        what, target = str(msg.get("kind", ""))[:20], str(msg.get("target", ""))[:300]
        where = {"names": [], "check": name if kind == "check" else None, "cell": name if kind == "cell" else None}
        if what == "hook":
            if target not in self.hooks and len(self.hooks) < 20:
                self.hooks.append(target[:80])
        elif what == "compiled":
            text = str(msg.get("text", ""))
            if len(self.compiled) >= 500 or sum(len(c["text"]) for c in self.compiled) + len(text) > 16_000_000:
                entry = {"kind": "rebuild", "target": "more code compiled at run time than the grader reads", **where}
                self.attempts.append(entry)
            else:
                entry = {"text": text, **where}
                self.compiled.append(entry)
            pending.append(entry)
        elif what in ("import", "name", "rebuild", "read") and len(self.attempts) < 500:
            entry = {"kind": what, "target": target, **where}
            self.attempts.append(entry)
            pending.append(entry)


def request_line(view, cells: list[tuple[str, str]], collect: str, checks: list[tuple[str, dict]]) -> bytes:
    """The one JSON line the driver reads: view modules, setup, answer cells, collect source, checks and inputs."""
    return (json.dumps({
        "modules": view.modules, "packages": view.packages, "dropped": view.dropped, "setup": view.setup,
        "cells": [list(c) for c in cells], "collect": collect,
        "checks": [{"name": name, "inputs": {k: encode_value(v) for k, v in inputs.items()}}
                   for name, inputs in checks],
    }) + "\n").encode()


def _spec(sandbox: Sandbox, run: Path, work: Path, tree: Tree) -> dict:
    """launch.py's spec for the driver: the kernel's fence, without the package's folder."""
    spec = launch_spec(sandbox, "", run, work, tree)
    pkg = str(package_dir())
    spec["ro"] = [p for p in spec["ro"] if p != pkg]
    spec["masks"] = [pkg] if any(pkg.startswith(p.rstrip("/") + "/") for p in spec["ro"]) else []
    spec["command"] = [sys.executable, "-I", "-c", DRIVER.read_text(encoding="utf-8")]
    return spec


def _command(sandbox: Sandbox, spec_file: Path, work: Path) -> list[str]:
    if sandbox.resolved() == "none":
        lim = sandbox.limits
        # no bwrap: the package's files are readable here, so the driver may start no process at all (a program
        # started from an answer cell would import the reference freely): one process of this uid, its own
        return ["prlimit", f"--as={lim.memory_mb * 1024 * 1024}", f"--fsize={lim.file_mb * 1024 * 1024}",
                "--nproc=1", "--core=0", "--", "env", "-i",
                *(f"{k}={v}" for k, v in kernel_env(work).items()),
                sys.executable, "-I", "-c", DRIVER.read_text(encoding="utf-8")]
    return [sys.executable, "-I", "-m", "lora_course.grading.launch", str(spec_file)]


def _driver_pid(root: int | None) -> int | None:
    """The driver's python process below bwrap (host pid), for SIGINT."""
    level = [root] if root else []
    for _ in range(6):
        for pid in level:
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                if b"bwrap" not in argv[0] and b"-c" in argv:
                    return pid
            except OSError:
                pass
        nxt = []
        for pid in level:
            try:
                nxt += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
            except (OSError, ValueError):
                pass
        level = nxt
    return None


class _Reader:
    """Lines from the driver's stdout, each checked against the step the grader expects next."""

    def __init__(self, fd: int) -> None:
        self.fd, self.buffer, self.eof, self.seq = fd, b"", False, 0

    def poll(self, timeout: float) -> list[dict]:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                self.eof = True
            self.buffer += chunk
            if len(self.buffer) > LINE_BYTES:
                raise ValueError("a line longer than the grader reads")
        lines, _, self.buffer = self.buffer.rpartition(b"\n")
        out = []
        for line in lines.split(b"\n") if lines else []:
            msg = json.loads(line.decode("utf-8"))
            self.seq += 1
            if not isinstance(msg, dict) or msg.get("seq") != self.seq:
                raise ValueError("a line out of sequence")
            out.append(msg)
        return out


def run_clean(job: Path, sandbox: Sandbox, request: bytes, cell_ids: list[str], checks: list[str]) -> CleanResult:
    """Start the clean interpreter in ``job`` (created here), feed it ``request``, collect each check's payload."""
    result = CleanResult()
    steps = ["ready", *(f"cell:{c}" for c in cell_ids), *(f"check:{c}" for c in checks), "end"]
    with job_folder(job, None, sandbox, "lora-clean") as folder:
        tree = folder.tree
        try:
            spec_file = job / "spec.json"
            fd = os.open(spec_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(_spec(sandbox, folder.run, folder.work, tree), f)
            with open(job / "clean.log", "wb") as log:
                proc = subprocess.Popen(_command(sandbox, spec_file, folder.work), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=log, close_fds=True,
                                        start_new_session=True)   # its own group: kill(0) reaches only it
                tree.root_pid = proc.pid
                try:
                    proc.stdin.write(request)
                    proc.stdin.close()
                except OSError:
                    pass
                _supervise(proc, tree, sandbox, steps, result)
        finally:
            result.cpu_seconds = tree.cpu_seconds()          # before the tree is torn down on leaving the folder
    if folder.disk_full and not result.problem:
        result.problem = "disk: the clean interpreter filled its job folder"
    return result


def _supervise(proc: subprocess.Popen, tree: Tree, sandbox: Sandbox, steps: list[str], result: CleanResult) -> None:
    lim = sandbox.limits
    reader = _Reader(proc.stdout.fileno())
    cpu0 = wall0 = None
    start_cpu, start_wall = tree.cpu_seconds(), time.monotonic()
    step = 0
    interrupted: tuple[float, float] | None = None
    pending: list[dict] = []
    while step < len(steps):
        try:
            messages = reader.poll(0.1)
        except (ValueError, UnicodeDecodeError) as err:
            result.tampered = f"the clean interpreter's channel carried {err}"
            break
        for msg in messages:
            if msg.get("event") in ("record", "names") and step > 0:
                result.record(msg, steps[step], pending)
                continue
            pending.clear()
            want = steps[step]
            kind, _, name = want.partition(":")
            if msg.get("event") != kind or (kind == "check" and msg.get("name") != name):
                result.tampered = f"the clean interpreter's channel carried {str(msg.get('event'))[:40]!r} " \
                                  f"where the grader expected {want!r}"
                break
            if kind == "cell" and msg.get("errors"):
                result.cell_errors[name] = [str(e)[:300] for e in msg["errors"][:5]]
            elif kind == "check" and isinstance(msg.get("payload"), dict):
                result.payloads[name] = msg["payload"]
                if msg["payload"].get("error") == "timeout":
                    result.timed_out.append(name)
            step += 1
            cpu0 = wall0 = None
            interrupted = None
        if result.tampered or step >= len(steps):
            break
        if reader.eof:
            result.problem = "the clean interpreter stopped before it answered every check (it died, or the " \
                             "student's code ended it)"
            break
        cpu, wall = tree.cpu_seconds(), time.monotonic()
        if cpu0 is None:
            cpu0, wall0 = cpu, wall
        if cpu - start_cpu > lim.notebook_seconds or wall - start_wall > lim.wall(lim.notebook_seconds):
            result.problem = "the clean interpreter used up the notebook's time budget"
            break
        unit = steps[step]
        if unit.startswith(("cell:", "check:")) and interrupted is None and (
                cpu - cpu0 > lim.cell_seconds or wall - wall0 > lim.wall(lim.cell_seconds)):
            interrupted = (cpu, wall)
            pid = _driver_pid(tree.root_pid)
            try:
                if pid is not None:
                    os.kill(pid, signal.SIGINT)
            except OSError:
                pass
        elif interrupted and (cpu - interrupted[0] > GRACE_CPU or wall - interrupted[1] > GRACE_WALL):
            result.problem = f"{unit.replace(':', ' ')} ran past the per-cell limit and ignored the interrupt"
            result.timed_out.append(unit.partition(":")[2])
            break
        if unit == "ready" and wall - start_wall > lim.wall(lim.cell_seconds):
            result.problem = "the clean interpreter did not start"
            break
    if step < len(steps) and not result.problem and not result.tampered:
        result.problem = "the clean interpreter stopped early"
    if reader.eof is False:
        try:
            more = reader.poll(0)
        except (ValueError, UnicodeDecodeError):
            more = [{}]
        if more and not result.tampered and not result.problem:
            result.tampered = "the clean interpreter's channel carried lines after its last answer"
    try:
        proc.kill()
    except OSError:
        pass
    proc.wait()
