"""Setup: dependency lists agree, the package is installed, and `make lab`'s server answers."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

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
            "import lora_course, lora_course.support.plotting, lora_course.lessons.l00_storage;"
            "after = (matplotlib.get_backend(), np.random.get_state()[1][0]); print(before == after)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "True\n" and out.stderr == ""


def test_make_lab_runs_lora_course_lab():
    """`make lab` installs what a student needs, then starts the one command tested below."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    recipe = subprocess.run(["make", "-n", "--no-print-directory", "lab", "PORT=8899"],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    assert recipe.stdout.splitlines()[-1].endswith("lora-course lab --port=8899"), recipe.stdout
    assert "[test]" not in recipe.stdout, "lab installs no test tools"


def test_make_lab_installs_quietly_with_pips_progress_bar_and_a_log(tmp_path):
    """A fresh `make lab` (dry run into an empty venv folder): one line per phase, pip quiet with its own
    progress bar and its full log in a file."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    recipe = subprocess.run(["make", "-n", "--no-print-directory", "lab", f"VENV={tmp_path / 'venv'}"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout
    phases = [line for line in recipe.splitlines() if line.startswith("echo \"[")]
    assert [p.split("]")[0] for p in phases] == ['echo "[1/3', 'echo "[2/3', 'echo "[3/3'], recipe
    installs = [line for line in recipe.splitlines() if " -m pip " in line]
    assert len(installs) == 2 and all("--quiet --log" in line and "install --progress-bar on" in line
                                      for line in installs), recipe


def _stop(proc: subprocess.Popen) -> None:
    """Stop `lora-course lab` the way Ctrl-C would (SIGTERM is handled alike), then its whole group."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:  # it ended between poll() and killpg()
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


def test_lora_course_lab_serves_the_students_copy_and_a_second_run_reuses_it(tmp_path):
    """Run `lora-course lab` with this interpreter (no .venv or make needed) and ask the server for its
    status with the URL it printed: its last line, the only one a student has to read. A second run on the
    same folder prints that URL and exits at once, starting no second server."""
    workspace = tmp_path / "my-notebooks"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg")}
    command = [sys.executable, "-m", "lora_course.cli.main", "lab", "--port", "8960", "--workspace", str(workspace),
               "--log", str(tmp_path / "lab.log")]
    out = tmp_path / "stdout.txt"
    with open(out, "w") as handle:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=handle,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = None
        for _ in range(600):  # up to 5 min on a loaded machine; the loop ends as soon as the URL appears
            found = re.search(r"http://127\.0\.0\.1:\d+/lab\?token=\w+", out.read_text())
            if found:
                url = found.group(0)
                break
            assert proc.poll() is None, out.read_text() + (tmp_path / "lab.log").read_text()
            time.sleep(0.5)
        assert url, out.read_text()
        with urllib.request.urlopen(url.replace("/lab?", "/api/status?"), timeout=10) as response:
            assert "started" in json.load(response)
        lines = out.read_text().splitlines()
        assert lines[0].startswith("lora-course lab: checking"), lines  # said before any slow import
        lessons = sorted(p.name for p in ROOT.glob("notebooks/[0-9][0-9]_*.ipynb"))
        assert lines[1].startswith(f"copied {len(lessons)} new lesson(s)"), lines
        assert lines[-1].startswith("JupyterLab is ready") and lines[-1].endswith(url), lines
        assert sorted(p.name for p in workspace.glob("*.ipynb")) == lessons
        state = json.loads((workspace / ".lora-course-lab.json").read_text())
        assert state["port"] == int(url.split(":")[2].split("/")[0])

        second = subprocess.run(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                text=True, timeout=120)
        assert second.returncode == 0, second.stdout + second.stderr
        last = second.stdout.splitlines()[-1]
        assert last.startswith("JupyterLab already serves") and last.endswith(url), second.stdout
        assert f"(pid {state['pid']})" in last, last
        assert "starting JupyterLab" not in second.stdout, "a second server was started"
    finally:
        _stop(proc)
    assert proc.returncode == 0, out.read_text()
    assert not (workspace / ".lora-course-lab.json").exists(), "a stopped server's record is removed"


def test_the_editable_install_is_a_plain_path_entry_without_setuptools_warning():
    """With the checkout named as the package root (pyproject's package-dir), setuptools writes a .pth
    with the checkout's path; the import-hook mode it uses otherwise prints a boxed "Editable installation"
    warning on every install."""
    site = Path(lora_course.__file__).resolve().parent.parent
    hooks = [p for p in map(Path, sys.path) if p.is_dir() for p in p.glob("__editable__*lora_course*finder.py")]
    assert not hooks, f"setuptools installed an import hook (re-run `make lab` after changing pyproject.toml): {hooks}"
    pth = [p for p in map(Path, sys.path) if p.is_dir() for p in p.glob("__editable__*lora_course*.pth")]
    assert pth and Path(pth[0].read_text().strip()).resolve() == site == ROOT, pth


def test_licences_are_files_named_in_pyproject_and_readme():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE", "LICENSE-content"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    content = (ROOT / "LICENSE-content").read_text()
    assert "CC BY 4.0" in content and "creativecommons.org/licenses/by/4.0/legalcode" in content
    readme = (ROOT / "README.md").read_text()
    assert "LICENSE-content" in readme and "CC BY 4.0" in readme and "MIT" in readme
