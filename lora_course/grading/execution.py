"""Running one notebook in a started kernel: each cell, then each probe, under CPU-time supervision.

A supervisor interrupts a cell past its CPU (or wall-clock) limit, stops the notebook when its budget runs out
or the kernel stalls, and the probes' data comes back through channel files (``read_channel``), not stdout.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import secrets
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from lora_course.grading.cgroups import Tree
from lora_course.grading.guard import TAMPER_EXIT
from lora_course.grading.kernel import FencedKernelManager, launch_spec
from lora_course.grading.probe import as_expression, verify
from lora_course.grading.settings import Limits, Sandbox

CHANNEL_BYTES = 64_000_000


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
    tampered: bool = False
    disk_full: bool = False
    refused_files: list[str] = field(default_factory=list)


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
        if _exit_status(km) is not None and not task.done():       # died (or stopped by the guard)
            _abandon(task)
            raise DeadKernelError("the kernel died")
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


def _exit_status(km: AsyncKernelManager) -> int | None:
    """The kernel command's exit status once it has ended, else None."""
    process = getattr(km.provisioner, "process", None) if km.provisioner is not None else None
    return process.poll() if process is not None else None


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


async def execute(sources: list[str], probes: list[tuple[str, str]], job: Path, run: Path, work: Path,
                   sandbox: Sandbox, tree: Tree) -> Execution:
    """Start the fenced kernel for job folder ``job``, run ``sources`` then each probe ``(nonce, probe source)``
    (sent as :func:`probe.as_expression`); returns what came back: for each probe, what its runner wrote and
    sealed for that source (None otherwise) and its error ("" if it succeeded)."""
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
    key = secrets.token_bytes(32)             # the guard reads and removes it before any student code runs
    fd = os.open(run / "guard.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    if sandbox.resolved() == "bwrap":
        os.chown(run / "guard.key", sandbox.uid, sandbox.uid)
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
                for index, (channel, source) in enumerate(probes):
                    task = asyncio.ensure_future(_probe(client, as_expression(source)))
                    if await _supervise(task, km, tree, lim, budget):
                        result.timed_out_probes.append(index)
                    reply = task.result()
                    value = reply.get("user_expressions", {}).get("probe", {})
                    data = read_channel(run / "chan" / channel)
                    sealed = verify(data, source, key)
                    result.probe_payloads.append(sealed)
                    # the exception's name only: its message may hold the job folder or the nonce, and a
                    # rerun must give the same CSV
                    error = str(value.get("ename", "no reply"))[:100] if value.get("status") != "ok" else ""
                    if data is not None and sealed is None and not error:
                        error = "its channel file was not written by the grader's probe"
                    result.probe_errors.append(error)
        except (_NotebookOver, asyncio.TimeoutError):
            result.notebook_timeout = True
        except _Stalled:
            result.notebook_timeout = result.stalled = True
        except DeadKernelError:
            result.died = "the kernel died (killed by a resource limit, or crashed)"
            for _ in range(50):                       # its exit status: the guard's means tampering
                if _exit_status(km) is not None:
                    break
                await asyncio.sleep(0.1)
            result.tampered = _exit_status(km) == TAMPER_EXIT
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
