"""A throwaway JupyterLab server for the browser tests: started like `make lab`, isolated, stopped cleanly.

The server serves the course folder itself (as `make lab` does), so the lab must never write to it:
autosave is switched off in a private settings folder and `saves()` lets a test prove nothing was saved.
Every Jupyter folder (config, data, runtime, settings, workspaces) points into a temporary directory,
so the user's own Jupyter setup neither leaks in nor gets touched.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from lora_course.measure.budget import ENV as TIMING_CAP
from lora_course.measure.budget import GRADING

# Plugin id -> settings. "none" attaches every cell to the page (JupyterLab's default windowing mode
# skips rendering off-screen cells, which would leave holes in a full-page screenshot).
LAB_SETTINGS: dict[str, dict] = {
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_user_settings(settings_dir: Path, settings: dict[str, dict] = LAB_SETTINGS) -> None:
    """Write JupyterLab user settings: ``<dir>/@scope/package/plugin.jupyterlab-settings`` per plugin."""
    for plugin_id, values in settings.items():
        package, plugin = plugin_id.split(":")
        path = settings_dir / package / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2))


class LabServer:
    """``jupyter lab`` on a free local port with a random token, serving ``root``.

    Use as a context manager; ``url(path)`` gives an address the browser can open.
    ``disabled_extensions`` names JupyterLab front-end extensions to switch off (to test failure modes).
    """

    def __init__(self, root: Path, jupyter: Path | None = None, startup_timeout: float = 60.0,
                 disabled_extensions: tuple[str, ...] = ()):
        self.disabled_extensions = disabled_extensions
        self.root = Path(root).resolve()
        self.jupyter = Path(jupyter) if jupyter else Path(sys.executable).with_name("jupyter")
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._log = None
        self.process: subprocess.Popen | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> LabServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        if not self.jupyter.exists():
            raise FileNotFoundError(f"expected the jupyter command at {self.jupyter}, found nothing there")
        self._tmp = tempfile.TemporaryDirectory(prefix="lora-course-lab-")
        home = Path(self._tmp.name)
        folders = {name: home / name for name in ("config", "data", "runtime", "settings", "workspaces", "ipython",
                                                    "checkpoints")}
        for folder in folders.values():
            folder.mkdir()
        write_user_settings(folders["settings"])
        if self.disabled_extensions:  # what `jupyter labextension disable` writes, in our private config
            page_config = {"disabledExtensions": {name: True for name in self.disabled_extensions}}
            (folders["config"] / "labconfig").mkdir()
            (folders["config"] / "labconfig" / "page_config.json").write_text(json.dumps(page_config))
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(folders["config"]),
            JUPYTER_DATA_DIR=str(folders["data"]),
            JUPYTER_RUNTIME_DIR=str(folders["runtime"]),
            IPYTHONDIR=str(folders["ipython"]),
            PYTHONUNBUFFERED="1",
            # The page is under test here, not the timings (nbval runs lesson 04's in full): the kernels' timing
            # budgets are capped as the grader caps them (lora_course/measure/budget.py).
            **{TIMING_CAP: str(GRADING)},
        )
        command = [
            str(self.jupyter), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root}",
            # JupyterLab makes a checkpoint when it opens a notebook: keep those out of the course folder.
            f"--FileCheckpoints.root_dir={folders['checkpoints']}",
            f"--IdentityProvider.token={self.token}",
            f"--LabApp.user_settings_dir={folders['settings']}",
            f"--LabApp.workspaces_dir={folders['workspaces']}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            "--ServerApp.terminals_enabled=False",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # CI containers run as root; jupyter refuses that otherwise
        self.log_path = home / "server.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        # A session of its own, so stop() can signal the server and only the server's children.
        self.process = subprocess.Popen(command, cwd=self.root, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with code {self.process.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"jupyter lab did not answer on {self.base} within {self.startup_timeout:.0f} s")

    def stop(self, timeout: float = 20.0) -> None:
        """Ask the server to shut down (it stops its kernels); escalate to signals if it does not."""
        if self.process is not None and self.process.poll() is None:
            try:
                self.api("POST", "/api/shutdown")
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            for sig in (None, signal.SIGTERM, signal.SIGKILL):
                if sig is not None:
                    try:
                        os.killpg(self.process.pid, sig)
                    except ProcessLookupError:
                        break
                try:
                    self.process.wait(timeout=timeout)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    # -- helpers ---------------------------------------------------------------------------------
    def url(self, path: str = "lab") -> str:
        """Browser address of ``path`` (e.g. 'lab/tree/solutions/00_x.ipynb'), token included."""
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{sep}token={self.token}"

    def api(self, method: str, path: str, timeout: float = 5.0):
        """Call the server's REST API; returns the decoded JSON (or None for an empty body)."""
        request = urllib.request.Request(self.base + path, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels_of(self, notebook_path: str) -> None:
        """Delete every session (and so its kernel) opened on ``notebook_path`` (relative to root)."""
        for session in self.api("GET", "/api/sessions") or []:
            if session.get("path") == notebook_path:
                self.api("DELETE", f"/api/sessions/{session['id']}")

    def log_text(self) -> str:
        if self._log is not None:
            self._log.flush()
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def saves(self) -> list[str]:
        """Server log lines reporting a file save (there must be none: the tests only read)."""
        return [line for line in self.log_text().splitlines() if "Saving file at" in line]
