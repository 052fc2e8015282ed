"""The student's own copy of the lessons (my-notebooks/) and the `lora-course lab` command line."""

import json
import socket
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager

from lora_course.support import workspace
from lora_course.support.workspace import choose_port, copy_lessons, kernel_metadata, lab_command

ROOT = Path(__file__).resolve().parent.parent


def _lesson(folder: Path, name: str, text: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder / name


def test_first_run_copies_every_lesson_and_nothing_else(tmp_path):
    source = tmp_path / "notebooks"
    _lesson(source, "00_a.ipynb", "lesson a")
    _lesson(source, "01_b.ipynb", "lesson b")
    (source / "notes.ipynb").write_text("{}")  # not a lesson (no NN_ prefix)
    written = copy_lessons(source, tmp_path / "my-notebooks")
    assert [p.name for p in written] == ["00_a.ipynb", "01_b.ipynb"]
    assert sorted(p.name for p in (tmp_path / "my-notebooks").iterdir()) == ["00_a.ipynb", "01_b.ipynb"]
    copy = nbformat.read(tmp_path / "my-notebooks" / "01_b.ipynb", as_version=4)
    assert copy.cells[0].source == "lesson b"


def test_a_students_file_is_never_overwritten_and_new_lessons_land_beside_it(tmp_path):
    source, mine = tmp_path / "notebooks", tmp_path / "my-notebooks"
    _lesson(source, "00_a.ipynb", "lesson a")
    copy_lessons(source, mine)
    answer = b'{"my answer": "B = 0 so that the first step starts from W0"}'  # not even a notebook
    (mine / "00_a.ipynb").write_bytes(answer)
    _lesson(source, "00_a.ipynb", "lesson a, version 2 of the course")  # a course update changes lesson 00
    _lesson(source, "01_b.ipynb", "lesson b, new in version 2")           # and adds lesson 01
    written = copy_lessons(source, mine)
    assert [p.name for p in written] == ["01_b.ipynb"]
    assert (mine / "00_a.ipynb").read_bytes() == answer
    assert copy_lessons(source, mine) == [], "a second run has nothing new to copy"


def test_an_empty_source_is_an_error_that_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="source: expected lesson notebooks"):
        copy_lessons(tmp_path, tmp_path / "my-notebooks")


def test_copies_carry_the_installed_kernels_metadata_so_opening_them_changes_nothing(tmp_path):
    """JupyterLab rewrites kernelspec and language_info when the kernel starts; a difference marks the
    notebook modified. Measured in Chromium: display name 'Python 3' or another Python version -> modified."""
    copy_lessons(ROOT / "notebooks", tmp_path)
    spec = KernelSpecManager().get_kernel_spec("python3")
    for path in sorted(tmp_path.glob("*.ipynb")):
        meta = json.loads(path.read_text())["metadata"]
        assert meta["kernelspec"] == {"display_name": spec.display_name, "language": "python", "name": "python3"}
        assert meta["language_info"]["version"] == sys.version.split()[0], path.name


def test_committed_notebooks_name_the_kernel_we_install():
    wanted = kernel_metadata()["kernelspec"]
    paths = sorted(ROOT.glob("solutions/[0-9][0-9]_*.ipynb")) + sorted(ROOT.glob("notebooks/[0-9][0-9]_*.ipynb"))
    wrong = [p.name for p in paths if json.loads(p.read_text())["metadata"].get("kernelspec") != wanted]
    assert not wrong, f"kernelspec differs from the installed kernel's {wanted}: {wrong}"


def test_the_students_folder_is_git_ignored():
    assert "my-notebooks/" in (ROOT / ".gitignore").read_text().splitlines()


def test_lab_command_allows_root_only_for_root(monkeypatch, tmp_path):
    monkeypatch.setattr(workspace.os, "geteuid", lambda: 0)
    assert "--allow-root" in lab_command(tmp_path, 8888, "t")
    monkeypatch.setattr(workspace.os, "geteuid", lambda: 1000)
    command = lab_command(tmp_path, 8888, "t")
    assert "--allow-root" not in command and "--no-browser" in command
    assert f"--ServerApp.root_dir={tmp_path}" in command and "--ServerApp.port_retries=0" in command


def test_a_busy_port_is_skipped():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert choose_port(port) != port


def test_a_port_out_of_range_is_refused_by_name():
    with pytest.raises(ValueError, match="port: expected an integer in 1024"):
        choose_port(80)
