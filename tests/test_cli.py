"""The lora-course console script."""

import subprocess
import sys
from pathlib import Path

import lora_course


def run(*args):
    return subprocess.run([sys.executable, "-m", "lora_course.cli.main", *args], capture_output=True, text=True)


def test_version_and_help():
    out = run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"lora-course {lora_course.__version__}"
    out = run("--help")
    assert out.returncode == 0 and "student" in out.stdout


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "lora-course"
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and "lora-course" in out.stdout


def test_unknown_notebook_prefix_is_a_clear_error(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "pyproject.toml").write_text("")
    out = run("student", "--root", str(tmp_path), "--only", "99")
    assert out.returncode == 2 and "no solution notebooks (NN_name.ipynb) found" in out.stderr
