"""Setup: dependency lists agree, the package is installed, and `make lab`'s server answers."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import lora_course

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]}
    text = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1]
    lines = [ln.strip()[2:] for ln in text.splitlines() if ln.strip().startswith("- ")]
    conda = {_name(r) for r in lines if r and not r.startswith(("python", "pip", "-e"))}
    assert conda == wanted
    assert "- -e ." in (ROOT / "environment.yml").read_text(), "environment.yml installs the course editable"


def test_no_exact_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [r for r in project["dependencies"] + project["optional-dependencies"]["test"] if "==" in r]


def test_package_is_installed_not_path_hacked():
    out = subprocess.run([sys.executable, "-c", "import lora_course, sys; print(lora_course.__file__)"],
                         cwd="/", capture_output=True, text=True, check=True)
    assert Path(out.stdout.strip()).resolve() == Path(lora_course.__file__).resolve()


def test_import_has_no_side_effects():
    code = ("import matplotlib, numpy as np; before = (matplotlib.get_backend(), np.random.get_state()[1][0]);"
            "import lora_course, lora_course.plotting, lora_course.storage;"
            "after = (matplotlib.get_backend(), np.random.get_state()[1][0]); print(before == after)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "True\n" and out.stderr == ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_lab_serves_jupyterlab(tmp_path):
    """Run the Makefile's `lab` recipe headless on a free port and ask the server for /api/status."""
    port = _free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "PORT": str(port)}
    # make -n prints the recipe; run only the server line so the test does not reinstall the venv.
    recipe = subprocess.run(["make", "-n", "lab", f"PORT={port}"], cwd=ROOT, capture_output=True, text=True, check=True)
    server_cmd = [ln for ln in recipe.stdout.splitlines() if "jupyter lab" in ln]
    assert server_cmd, recipe.stdout
    proc = subprocess.Popen(server_cmd[-1] + " --IdentityProvider.token=testtoken", shell=True, cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline, status = time.time() + 90, None
        while time.time() < deadline and status is None:
            try:
                url = f"http://127.0.0.1:{port}/api/status?token=testtoken"
                with urllib.request.urlopen(url, timeout=2) as response:
                    status = json.load(response)
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.5)
        assert status is not None and "started" in status
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    log = proc.stdout.read()
    assert f"http://127.0.0.1:{port}/lab" in log, "the URL is printed for the user"
