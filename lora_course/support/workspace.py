"""The student's own copy of the lessons, and ``lora-course lab``, which serves it in JupyterLab.

``make lab`` opens ``my-notebooks/``, not ``notebooks/``: the course's files can then change with every
``git pull`` while a student's answers stay where they are. ``copy_lessons`` copies each lesson that is
not there yet and never writes over a file that exists, so lessons added by a course update appear beside
the student's work. Each copy carries the kernel metadata that the local ``python3`` kernel reports, so
opening it in JupyterLab does not mark it modified.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from lora_course.support import lab_state

WORKSPACE = "my-notebooks"
LESSON_GLOB = "[0-9][0-9]_*.ipynb"
KERNEL_NAME = "python3"


def kernel_metadata() -> dict:
    """The ``kernelspec`` and ``language_info`` that JupyterLab writes when this Python's kernel starts."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    return {
        "kernelspec": {"display_name": spec.display_name, "language": spec.language, "name": KERNEL_NAME},
        "language_info": {  # ipykernel's kernel_info reply, field by field
            "codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
            "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
            "pygments_lexer": "ipython3", "version": sys.version.split()[0],
        },
    }


def copy_lessons(source: Path, target: Path, metadata: dict | None = None) -> list[Path]:
    """Copy every ``NN_*.ipynb`` of ``source`` that ``target`` lacks; return the paths written.

    A file that already exists in ``target`` is never opened for writing, whatever its content.
    ``metadata`` (default: ``kernel_metadata()``) replaces the copies' notebook-level keys it names.
    """
    source, target = Path(source), Path(target)
    lessons = sorted(source.glob(LESSON_GLOB))
    if not lessons:
        raise FileNotFoundError(f"source: expected lesson notebooks (NN_name.ipynb) in {source}, found none")
    target.mkdir(parents=True, exist_ok=True)
    missing = [lesson for lesson in lessons if not (target / lesson.name).exists()]
    if not missing:  # the usual later run: nothing to read, nothing to import
        return []
    import nbformat  # here, not at the top: `lora-course lab` prints its first line before this import

    metadata = kernel_metadata() if metadata is None else metadata
    written = []
    for lesson in missing:
        copy = target / lesson.name
        nb = nbformat.read(lesson, as_version=4)
        nb.metadata.update(json.loads(json.dumps(metadata)))
        try:
            with open(copy, "x", encoding="utf-8") as handle:  # "x": fails if the file exists
                nbformat.write(nb, handle)
        except FileExistsError:  # written meanwhile by someone else: theirs stays
            continue
        written.append(copy)
    return written


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def choose_port(wanted: int, tries: int = 50) -> int:
    """``wanted`` if it is free on 127.0.0.1, else the next free one above it."""
    if not 1024 <= wanted <= 65535 - tries:
        raise ValueError(f"port: expected an integer in 1024..{65535 - tries}, got {wanted!r}")
    for port in range(wanted, wanted + tries):
        if _port_is_free(port):
            return port
    raise ValueError(f"port: expected a free port in {wanted}..{wanted + tries - 1}, found none")


def busy_port_note(wanted: int, port: int) -> str | None:
    """The line that names a skipped port and who holds it, or None when ``port`` is the one asked for."""
    if port == wanted:
        return None
    owner = lab_state.port_owner(wanted)
    held = f"in use by another program ({owner})" if owner else "in use by another program"
    skipped = f"port {wanted} is" if port == wanted + 1 else f"ports {wanted}-{port - 1} are"
    return f"{skipped} {held}; using {port}"


def lab_command(workspace: Path, port: int, token: str) -> list[str]:
    """The ``jupyter lab`` command line serving ``workspace`` on 127.0.0.1 (``--allow-root`` as root)."""
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--ServerApp.port_retries=0", f"--ServerApp.root_dir={workspace}",
               f"--IdentityProvider.token={token}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # JupyterLab refuses root unless told
        command.append("--allow-root")
    return command


def _interrupt(signum, frame):  # SIGTERM (e.g. `kill`) stops the server as Ctrl-C does
    raise KeyboardInterrupt


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8888, help="port to serve on, or the next free one (8888)")
    parser.add_argument("--workspace", type=Path, default=None,
                        help=f"the student's folder of lessons (default: {WORKSPACE}/ in the course folder)")
    parser.add_argument("--log", type=Path, default=None,
                        help="JupyterLab's own log (default: .lab.log in the course folder)")
    parser.add_argument("--startup-timeout", type=float, default=300.0, help="seconds to wait for JupyterLab")


def _shown(folder: Path, root: Path) -> str:
    return f"{folder.relative_to(root)}/" if folder.is_relative_to(root) else f"{folder}/"


def _start(workspace: Path, port: int, log_path: Path, timeout: float):
    """Start JupyterLab on ``workspace``; (process, LabServer) once it answers, or (process, None)."""
    token = secrets.token_hex(24)
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(lab_command(workspace, port, token), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while (status := lab_state.server_status(port, token)) is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                return proc, None
            time.sleep(0.3)
    except BaseException:  # Ctrl-C while it starts: stop it, leave no server behind
        _stop(proc)
        raise
    return proc, lab_state.LabServer(proc.pid, port, token, str(status["started"]), str(workspace))


def _say_waiting() -> None:
    print("another lora-course lab is starting JupyterLab for this folder; waiting for it", flush=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(args: argparse.Namespace) -> int:
    """Serve the workspace in JupyterLab, or point at the JupyterLab that already serves it; print its URL.

    One server per folder: a live one (``lab_state.running_server``) is reused, never doubled.
    """
    from lora_course.support.course_root import find_course_root

    signal.signal(signal.SIGTERM, _interrupt)
    root = find_course_root()
    workspace = (args.workspace or root / WORKSPACE).resolve()
    print(f"lora-course lab: checking {_shown(workspace, root)} for new lessons and a running JupyterLab", flush=True)
    copied = copy_lessons(root / "notebooks", workspace)
    if copied:
        print(f"copied {len(copied)} new lesson(s) into {_shown(workspace, root)} "
              f"({', '.join(p.stem for p in copied)}); your work there is never overwritten", flush=True)
    log_path = (args.log or root / ".lab.log").resolve()
    with lab_state.workspace_lock(workspace, on_wait=_say_waiting):
        running = lab_state.running_server(workspace)
        if running is not None:
            print(f"JupyterLab already serves {_shown(workspace, root)} (pid {running.pid}); not starting a second "
                  f"one on the same notebooks. Open in your browser: {running.url}", flush=True)
            return 0
        port = choose_port(args.port)
        note = busy_port_note(args.port, port)
        if note:
            print(note, flush=True)
        print(f"starting JupyterLab on port {port} (its log: {_shown(log_path, root).rstrip('/')})", flush=True)
        start = time.monotonic()
        proc, server = _start(workspace, port, log_path, args.startup_timeout)
        if server is None:
            _stop(proc)
            tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-20:]
            print("\n".join(tail), file=sys.stderr)
            print(f"lora-course lab: error: JupyterLab did not start (full log: {log_path})", file=sys.stderr)
            return 1
        lab_state.write_state(workspace, server)
    try:
        print(f"JupyterLab is ready ({time.monotonic() - start:.0f} s), open in your browser: {server.url}", flush=True)
        proc.wait()
        return proc.returncode
    except KeyboardInterrupt:  # Ctrl-C: stop the server cleanly
        return 0
    finally:
        _stop(proc)
        lab_state.clear_state(workspace, server)
