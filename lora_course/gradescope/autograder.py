"""What ``run_autograder`` runs in a Gradescope container: ``python -I -m lora_course.gradescope.autograder``.

Gradescope's contract: the zip's files are in ``/autograder/source``, the student's files in
``/autograder/submission``, and ``/autograder/results/results.json`` must exist when ``run_autograder`` exits. Here:

1. make ``source/`` root's alone, then read the export's settings and the lesson's solution notebook
   (``source/lora_gradescope.json``, ``source/solution/``);
2. find exactly one notebook in the submission (none, two, or a link: one failed test that says so);
3. pick the isolation (isolation.py; an explicit mode the container refuses: one failed test, never a weaker mode);
4. grade it in a child process (step.py), as a fresh unprivileged uid unless the kernels get bwrap and uids of
   their own, bounded by a wall-clock limit, with the solution handed over a pipe;
5. kill whatever that uid left running, then write ``results.json`` (as this process, root: a kernel cannot).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from lora_course import __version__
from lora_course.gradescope.isolation import Isolation, IsolationUnavailable, detect
from lora_course.gradescope.results import failed_submission, results
from lora_course.grading.items import GradedItem, items_from_solution

CONFIG = "lora_gradescope.json"


def find_notebook(submission: Path) -> tuple[Path | None, str]:
    """The one notebook under ``submission`` (checkpoints and hidden folders ignored), or None and why not."""
    if not submission.is_dir():
        return None, f"no submission folder ({submission}) was handed to the autograder"
    found = sorted(p for p in submission.rglob("*.ipynb")
                   if not any(part.startswith(".") or part == "__MACOSX" for part in p.relative_to(submission).parts))
    if not found:
        others = sorted(str(p.relative_to(submission)) for p in submission.rglob("*") if p.is_file())[:5]
        return None, ("expected one Jupyter notebook (.ipynb), found none"
                      + (f" (received: {', '.join(others)})" if others else " (the submission is empty)"))
    if len(found) > 1:
        names = ", ".join(str(p.relative_to(submission)) for p in found[:5])
        return None, f"expected one Jupyter notebook (.ipynb), found {len(found)}: {names}; upload only the lesson's"
    if found[0].is_symlink() or not found[0].is_file():
        return None, f"{found[0].name} is a link or not a regular file; upload the notebook itself"
    return found[0], ""


def kill_uid(uid: int) -> int:
    """SIGKILL every process whose real uid is ``uid`` (the grading's own fresh uid), until none is left."""
    killed = 0
    for _ in range(50):
        left = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            real = next((line.split()[1] for line in status.splitlines() if line.startswith("Uid:")), None)
            if real == str(uid):
                left.append(int(entry.name))
        if not left:
            return killed
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        time.sleep(0.05)
    return killed


def submitter(root: Path) -> str:
    """A name for the submitter(s), from the user ids in Gradescope's ``submission_metadata.json`` (a hash, so the
    project checks' inputs differ between students and stay the same when a submission is regraded);
    ``submission`` when there is no metadata (the local harness)."""
    try:
        meta = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8"))
        ids = sorted(str(user["id"]) for user in meta["users"])
    except (OSError, ValueError, KeyError, TypeError):
        return "submission"
    return "student-" + hashlib.sha256(",".join(ids).encode()).hexdigest()[:16] if ids else "submission"


def stage_submission(notebook: Path, name: str, owner: int | None, student: str = "submission") -> Path:
    """A private copy of the submitted notebook at ``<tmp>/<student>/<name>`` that ``owner`` may read."""
    tmp = Path(tempfile.mkdtemp(prefix="lora-gradescope-"))
    folder = tmp / student
    folder.mkdir()
    shutil.copyfile(notebook, folder / name, follow_symlinks=False)
    if owner is not None:
        for path in (tmp, folder, folder / name):
            os.chown(path, owner, owner)
    return folder


LOG_BYTES = 16_000        # of the grading child's own stdout and stderr, kept for the autograder's log


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def run_step(job: dict, iso: Isolation, wall: float) -> tuple[dict | None, str]:
    """Grade in the child (step.py) as ``iso.step_uid``; (its report, '') or (None, why it gave none).

    The report comes back on a pipe only the child holds. Whatever the child, or a notebook of its uid, writes to
    stdout or stderr is read here and bounded (the first ``LOG_BYTES`` go to the autograder's log, which students
    do not see): a flood can neither fill the container's log nor block the grading."""
    read_fd, write_fd = os.pipe()
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
           "TMPDIR": "/tmp", "HOME": str(Path(job["folder"]).parent), "PYTHONDONTWRITEBYTECODE": "1"}
    drop = {} if iso.step_uid is None else {"user": iso.step_uid, "group": iso.step_uid, "extra_groups": []}
    try:
        child = subprocess.Popen([sys.executable, "-I", "-m", "lora_course.gradescope.step", str(write_fd)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 pass_fds=(write_fd,), env=env, cwd="/", start_new_session=True, **drop)
    finally:
        os.close(write_fd)
    chunks: list[bytes] = []
    log, dropped = bytearray(), 0
    out_fd = child.stdout.fileno()
    why, report_done = "", False
    try:
        child.stdin.write(json.dumps(job).encode())
        child.stdin.close()
        deadline = time.monotonic() + wall
        os.set_blocking(read_fd, False)
        os.set_blocking(out_fd, False)
        while True:
            busy = False
            for fd in (out_fd, read_fd):
                try:
                    data = os.read(fd, 1 << 16)
                except BlockingIOError:
                    continue
                busy = busy or bool(data)
                if fd == read_fd:
                    chunks.append(data)
                    report_done = report_done or data == b""
                elif data:
                    keep = data[: max(0, LOG_BYTES - len(log))]
                    log += keep
                    dropped += len(data) - len(keep)
            if report_done and child.poll() is not None:
                break
            if time.monotonic() > deadline:
                why = f"grading did not finish within the autograder's wall-clock limit of {wall:g} s"
                break
            if not busy:
                time.sleep(0.05)
    except BrokenPipeError:
        pass
    finally:
        os.close(read_fd)
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        if iso.step_uid is not None:
            kill_uid(iso.step_uid)
        text = log.decode("utf-8", "replace")
        if text.strip() or dropped:
            print(text + (f"\n(grading log: {dropped} more bytes dropped)" if dropped else ""), file=sys.stderr)
    if why:
        return None, why
    try:
        return json.loads(b"".join(chunks).decode()), ""
    except (ValueError, UnicodeDecodeError):
        if child.returncode < 0:
            return None, (f"the grading process was stopped by {_signal_name(child.returncode)} before it reported "
                          "its result (a notebook that kills or stops processes also ends its own grading), so no "
                          "points could be given")
        return None, f"the grading process ended without a result (exit code {child.returncode})"


def grade(root: Path, started: float) -> dict:
    """results.json's content for the submission under ``root`` (the /autograder tree)."""
    if os.geteuid() == 0:
        (root / "source").chmod(0o700)       # the rubric: root's alone, whatever uid the grading drops to
    config = json.loads((root / "source" / CONFIG).read_text(encoding="utf-8"))
    name, visibility = config["notebook"], config.get("visibility", "visible")
    solution_text = (root / "source" / "solution" / name).read_text(encoding="utf-8")
    items: list[GradedItem] = items_from_solution(nbformat.reads(solution_text, as_version=4), name)
    header = [f"Lesson notebook {name}, graded by lora-course {__version__}."]

    def failed(reason: str) -> dict:
        return failed_submission(items, reason, header, time.monotonic() - started, visibility)

    try:
        iso = detect(config.get("isolation", "auto"))
    except IsolationUnavailable as err:
        return failed(f"The autograder could not grade this submission: {err}. This is a setting of the "
                      "assignment, not a problem with your notebook: please tell your instructor.")
    header.append(iso.describe() + ".")
    notebook, why = find_notebook(root / "submission")
    if notebook is None:
        return failed(why)
    if notebook.name != name:
        header.append(f"Your file {notebook.name} was graded as {name}.")
    folder = stage_submission(notebook, name, iso.step_uid, submitter(root))
    # bwrap: the kernels get a uid of their own; otherwise they run as the grading child's throwaway uid, which
    # the grader then tears down whole after each kernel (Sandbox.teardown_uid)
    kernel_uid = (100_000_000 + secrets.randbelow(1_000_000) * 1000 if iso.mode == "bwrap"
                  else iso.step_uid if iso.step_uid is not None else 61000)
    job = {"notebook": name, "folder": str(folder), "isolation": iso.mode, "kernel_uid": kernel_uid,
           "seed": int(config.get("seed", 0)), "limits": config["limits"], "solution": solution_text}
    try:
        report, why = run_step(job, iso, float(config.get("wall_seconds", 540)))
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)
    if report is None:
        return failed(why)
    status, reasons = str(report.get("status", "error")), [str(r) for r in report.get("reasons", [])]
    if status == "malformed" or not report.get("items"):
        return failed(f"{notebook.name} could not be graded: " + ("; ".join(reasons) or status))
    header.append(f"Status: {status}" + (f" ({'; '.join(reasons)})" if reasons else "") + ".")
    header += [f"Note: {note}" for note in report.get("notes", [])]
    graded = report["items"] if isinstance(report["items"], dict) else {}
    return results(items, graded, header, time.monotonic() - started, visibility)


def rubric_items(root: Path) -> list[GradedItem]:
    """The lesson's graded items, or none when even the rubric cannot be read (a failure's test then says so)."""
    try:
        name = json.loads((root / "source" / CONFIG).read_text(encoding="utf-8"))["notebook"]
        return items_from_solution(nbformat.read(root / "source" / "solution" / name, as_version=4), name)
    except Exception:  # noqa: BLE001 - only the failed test's maximum depends on it
        return []


def write_results(root: Path, content: dict) -> Path:
    """Write ``results/results.json`` whole (a temporary file renamed over it)."""
    folder = root / "results"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.json"
    tmp = folder / f".results-{os.getpid()}.json"
    tmp.write_text(json.dumps(content, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run_autograder", description="grade /autograder/submission (Gradescope)")
    parser.add_argument("--root", type=Path, default=Path("/autograder"), help="the autograder tree (/autograder)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        content = grade(args.root, started)
    except Exception as err:  # noqa: BLE001 - Gradescope must always get a results.json
        content = failed_submission(rubric_items(args.root), f"The autograder failed ({type(err).__name__}: {err});"
                                    " your instructor can see the details in the autograder output.", [],
                                    time.monotonic() - started)
        print(f"run_autograder: {type(err).__name__}: {err}", file=sys.stderr)
    path = write_results(args.root, content)
    print(f"wrote {path}: score {content['score']:g} in {content['execution_time']:.1f} s")
    print(content["output"])
    for test in content["tests"]:
        print(f"  {test['score']:g} / {test['max_score']:g}  {test['name']}")
        if test.get("status") == "failed":
            print("      " + test["output"].replace("\n", "\n      "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
