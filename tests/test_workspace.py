"""The student's own copy of the lessons (my-notebooks/) and the `lora-course lab` command line."""

import json
import os
import socket
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager

from lora_course.support import lab_state, workspace
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


# --- one JupyterLab per folder: the state file, liveness, the lock, a busy port named -------------------------

def _fake_jupyter(token: str, started: str):
    """A server on 127.0.0.1 that answers /api/status like Jupyter: 200 with ``started`` for ``token``, else 403."""
    import http.server
    import threading

    class Status(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            ok = self.path == f"/api/status?token={token}"
            self.send_response(200 if ok else 403)
            self.end_headers()
            self.wfile.write(json.dumps({"started": started} if ok else {"message": "Forbidden"}).encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Status)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _dead_pid() -> int:
    import subprocess
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_live_server_is_the_recorded_pid_answering_with_its_token_and_start_time(tmp_path):
    fake = _fake_jupyter("t0k", "2026-12-07T12:00:00Z")
    try:
        port = fake.server_address[1]
        live = lab_state.LabServer(os.getpid(), port, "t0k", "2026-12-07T12:00:00Z", str(tmp_path))
        assert lab_state.is_live(live)
        assert not lab_state.is_live(live.__class__(**{**vars(live), "started": "2026-12-07T13:00:00Z"})), \
            "a server restarted on the same port is another server"
        assert not lab_state.is_live(live.__class__(**{**vars(live), "token": "other"})), "wrong token"
        assert not lab_state.is_live(live.__class__(**{**vars(live), "pid": _dead_pid()})), "its pid is gone"
    finally:
        fake.shutdown()
    assert not lab_state.is_live(live), "nothing answers on the port any more"


def test_the_state_file_is_ours_alone_and_a_stale_one_is_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    stale = lab_state.LabServer(_dead_pid(), 9, "t", "s", str(tmp_path))
    assert lab_state.write_state(tmp_path, stale) and lab_state.read_state(tmp_path) == stale
    assert lab_state.running_server(tmp_path) is None
    assert not (tmp_path / lab_state.STATE_NAME).exists(), "a dead server's record is cleared"
    mine = tmp_path / lab_state.STATE_NAME
    mine.write_text("my own notes, not a server record")
    assert not lab_state.write_state(tmp_path, stale) and mine.read_text() == "my own notes, not a server record"
    assert lab_state.running_server(tmp_path) is None and mine.exists(), "a file we did not write stays"


def test_clearing_leaves_a_later_servers_record(tmp_path):
    first = lab_state.LabServer(1, 9, "a", "s", str(tmp_path))
    later = lab_state.LabServer(2, 9, "b", "s", str(tmp_path))
    lab_state.write_state(tmp_path, later)
    lab_state.clear_state(tmp_path, first)
    assert lab_state.read_state(tmp_path) == later
    lab_state.clear_state(tmp_path, later)
    assert lab_state.read_state(tmp_path) is None


def test_a_server_started_by_hand_above_the_folder_is_found_from_jupyters_runtime_files(tmp_path, monkeypatch):
    workspace = tmp_path / "course" / "my-notebooks"
    workspace.mkdir(parents=True)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    fake = _fake_jupyter("hand", "2026-12-07T09:00:00Z")
    try:
        port = fake.server_address[1]
        info = {"pid": os.getpid(), "port": port, "token": "hand", "root_dir": str(tmp_path / "course")}
        (runtime / f"jpserver-{os.getpid()}.json").write_text(json.dumps(info))
        found = lab_state.running_server(workspace)
        assert found is not None and found.url == f"http://127.0.0.1:{port}/lab/tree/my-notebooks?token=hand"
        other = tmp_path / "elsewhere"
        other.mkdir()
        assert lab_state.running_server(other) is None, "a server of an unrelated folder does not count"
    finally:
        fake.shutdown()


def test_a_second_run_on_a_served_folder_prints_its_url_and_starts_nothing(tmp_path, monkeypatch, capsys):
    import argparse

    served = lab_state.LabServer(4242, 8888, "tok", "s", str(tmp_path))
    monkeypatch.setattr(lab_state, "running_server", lambda folder: served)
    monkeypatch.setattr(workspace.subprocess, "Popen", lambda *a, **k: pytest.fail("started a second server"))
    monkeypatch.chdir(ROOT)
    args = argparse.Namespace(port=8888, workspace=tmp_path, log=tmp_path / "lab.log", startup_timeout=1.0)
    assert workspace.run(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].endswith("Open in your browser: http://127.0.0.1:8888/lab?token=tok") and "pid 4242" in lines[-1]


def test_the_lock_makes_a_second_run_wait_and_says_so(tmp_path):
    import threading

    said, order = [], []
    with lab_state.workspace_lock(tmp_path):
        other = threading.Thread(target=lambda: _locked(tmp_path, said, order))
        other.start()
        other.join(timeout=1.0)
        assert other.is_alive(), "the second holder waits while the first holds the lock"
        order.append("first released")
    other.join(timeout=10)
    assert said == ["waiting"] and order == ["first released", "second got it"]


def _locked(folder, said, order):
    with lab_state.workspace_lock(folder, on_wait=lambda: said.append("waiting")):
        order.append("second got it")


def test_a_busy_port_is_named_with_the_program_that_holds_it():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        note = workspace.busy_port_note(port, port + 1)
        assert note.startswith(f"port {port} is in use by another program") and note.endswith(f"using {port + 1}")
        assert f"pid {os.getpid()}" in note
    assert workspace.busy_port_note(port, port) is None
    assert workspace.busy_port_note(port, port + 3).startswith(f"ports {port}-{port + 2} are in use")


def test_a_later_run_with_every_lesson_present_reads_nothing(tmp_path, monkeypatch):
    """`lora-course lab` on a folder that has every lesson answers at once: no notebook is read, no kernel
    looked up."""
    source, mine = tmp_path / "notebooks", tmp_path / "my-notebooks"
    _lesson(source, "00_a.ipynb", "lesson a")
    copy_lessons(source, mine)
    monkeypatch.setattr(workspace, "kernel_metadata", lambda: pytest.fail("looked up the kernel"))
    monkeypatch.setattr(nbformat, "read", lambda *a, **k: pytest.fail("read a notebook"))
    assert copy_lessons(source, mine) == []


def test_lora_course_lab_imports_nothing_slow_before_its_first_line():
    """`lora-course lab` builds only its own parser; nbformat, Jupyter and the grader load after it has spoken."""
    import subprocess
    code = ("import sys; from lora_course.cli.main import build_parser; build_parser('lab'); "
            "print(sorted(m for m in ('nbformat', 'jupyter_client', 'jupyter_core', 'numpy', 'lora_course.grading')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout
