"""Which JupyterLab already serves a student's folder, so ``lora-course lab`` never starts a second one.

Two servers autosaving the same notebooks overwrite each other's saves, so a second ``lora-course lab`` on
one folder prints the first one's URL instead of starting another. Two sources say what runs:

- our state file, ``.lora-course-lab.json`` in the folder (hidden in JupyterLab, git-ignored with it):
  the server's pid, port, token and the ``started`` time its ``/api/status`` reported; it counts only
  while that pid is alive AND the server on that port answers with that token and that start time (a
  reused pid or a restarted server on the same port does not);
- Jupyter's own runtime files (``jpserver-<pid>.json``), which also reveal a server started by hand
  (``jupyter lab`` in the folder or above it).

A lock file beside the state file makes the check-then-start of two simultaneous runs take turns.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_NAME = ".lora-course-lab.json"
LOCK_NAME = ".lora-course-lab.lock"


@dataclass(frozen=True)
class LabServer:
    """A JupyterLab serving ``workspace``: where to reach it and how to recognise it."""

    pid: int
    port: int
    token: str
    started: str          # ``/api/status``'s "started": differs for every start of a server
    workspace: str        # the folder served (or the folder above it that the server serves)
    path: str = ""        # the student's folder relative to the server's root ("" when they are the same)

    @property
    def url(self) -> str:
        tree = f"/tree/{self.path}" if self.path else ""
        return f"http://127.0.0.1:{self.port}/lab{tree}?token={self.token}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one owned by another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def server_status(port: int, token: str, timeout: float = 2.0) -> dict | None:
    """``/api/status`` of the Jupyter server on 127.0.0.1:``port`` with ``token``, or None if none answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=timeout) as resp:
            status = json.load(resp)
    except (OSError, ValueError, http.client.HTTPException):  # nothing there, not Jupyter, or a wrong token
        return None
    return status if isinstance(status, dict) and "started" in status else None


def is_live(server: LabServer) -> bool:
    """The recorded pid is alive and the server on its port answers with its token and its start time."""
    if not pid_alive(server.pid):
        return False
    status = server_status(server.port, server.token)
    return status is not None and str(status["started"]) == server.started


def state_path(workspace: Path) -> Path:
    return Path(workspace) / STATE_NAME


def read_state(workspace: Path) -> LabServer | None:
    """The server our state file names, or None when there is none or the file is not one of ours."""
    try:
        data = json.loads(state_path(workspace).read_text(encoding="utf-8"))
        return LabServer(**{key: data[key] for key in ("pid", "port", "token", "started", "workspace")})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_state(workspace: Path, server: LabServer) -> bool:
    """Record ``server``; False (nothing written) when a file of that name exists and is not ours."""
    path = state_path(workspace)
    if path.exists() and read_state(workspace) is None:
        return False
    partial = path.with_name(f"{STATE_NAME}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(asdict(server), indent=1), encoding="utf-8")
    os.replace(partial, path)
    return True


def clear_state(workspace: Path, server: LabServer) -> None:
    """Remove the state file if it still names ``server`` (a later server's record is left alone)."""
    recorded = read_state(workspace)
    if recorded is not None and (recorded.pid, recorded.token) == (server.pid, server.token):
        state_path(workspace).unlink(missing_ok=True)


def _runtime_servers() -> Iterator[dict]:
    """Jupyter's runtime files of running servers (``jpserver-*.json``), as written by jupyter_server."""
    from jupyter_core.paths import jupyter_runtime_dir

    for path in sorted(Path(jupyter_runtime_dir()).glob("jpserver-*.json")):
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(info, dict) and {"pid", "port", "root_dir"} <= set(info):
            yield info


def _from_runtime(workspace: Path) -> LabServer | None:
    """A live server whose root is ``workspace`` or a folder above it, from Jupyter's runtime files."""
    for info in _runtime_servers():
        root = Path(info["root_dir"]).expanduser().resolve()
        if not (workspace == root or root in workspace.parents) or not pid_alive(int(info["pid"])):
            continue
        token = str(info.get("token", ""))
        status = server_status(int(info["port"]), token)
        if status is not None:
            rel = workspace.relative_to(root).as_posix() if workspace != root else ""
            return LabServer(int(info["pid"]), int(info["port"]), token, str(status["started"]), str(root), rel)
    return None


def running_server(workspace: Path) -> LabServer | None:
    """The live JupyterLab that serves ``workspace``, if any; a stale state file of ours is removed."""
    workspace = Path(workspace).resolve()
    recorded = read_state(workspace)
    if recorded is not None:
        if is_live(recorded):
            return recorded
        clear_state(workspace, recorded)
    return _from_runtime(workspace)


@contextlib.contextmanager
def workspace_lock(workspace: Path, on_wait=None) -> Iterator[None]:
    """Hold the folder's lock (``on_wait()`` is called once if another run holds it); no-op without fcntl."""
    try:
        import fcntl
    except ImportError:  # Windows without WSL: no advisory locks; the state file still prevents most doubles
        yield
        return
    with open(Path(workspace) / LOCK_NAME, "a", encoding="utf-8") as handle:  # "a": never truncates
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def port_owner(port: int) -> str | None:
    """``python3 -m http.server 8888, pid N``: the process listening on ``port`` if this user may see it, else None."""
    try:
        import psutil

        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                argv = psutil.Process(conn.pid).cmdline()[:4]
                return f"{' '.join([Path(argv[0]).name, *argv[1:]]) if argv else 'a process'}, pid {conn.pid}"
    except Exception:  # psutil missing, or access denied: the port number alone is still named
        return None
    return None
