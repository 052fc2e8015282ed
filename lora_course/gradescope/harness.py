"""Try an autograder zip on this machine the way Gradescope's documented contract runs it (``lora-course
gradescope-run ZIP SUBMISSION_DIR``). It emulates the contract; it is not Gradescope.

A throwaway folder becomes ``/autograder`` inside a bubblewrap sandbox, where this machine's system folders are
bound read-only, ``/tmp`` is private, ``/root`` empty, and homes and the course checkout do not exist. The zip
is unpacked in ``/autograder/source``, ``run_autograder`` copied to ``/autograder``, the submission copied to
``/autograder/submission``. This machine's Python (the one the export was made with) comes first on ``PATH``, where
Gradescope's image gets it from ``apt-get``. ``setup.sh`` runs first (as root, network allowed, pip's cache shared
and writable), then ``run_autograder`` with the network unshared, and ``/autograder/results/results.json`` is read
back.

``container``: ``docker`` (the default) keeps only Docker's default capabilities and gives a PID namespace of its
own, so root cannot make the namespaces bubblewrap needs, as in a Gradescope container; ``privileged`` keeps all
of root's capabilities, this machine's ``/proc``, ``/dev`` and cgroups, as on an instructor's own machine.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

BWRAP = "/usr/bin/bwrap"
DOCKER_CAPS = ("CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP",
               "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE")
CONTAINERS = ("docker", "privileged")
PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"


@dataclass
class Run:
    """What one harness run gave: results.json (None if missing), seconds of setup.sh and run_autograder, their
    combined output, and the /autograder folder (kept only when asked)."""

    results: dict | None
    setup_seconds: float
    run_seconds: float
    log: str
    folder: Path | None = None


def unpack(zip_path: Path, source: Path) -> None:
    """Extract the zip into ``source``, refusing absolute names, ``..`` and links; keeps the executable bit."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            name = Path(info.filename)
            if name.is_absolute() or ".." in name.parts or stat.S_ISLNK(info.external_attr >> 16):
                raise ValueError(f"ZIP: expected plain relative file names, got {info.filename!r}")
            target = source / name
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            target.chmod(0o755 if (info.external_attr >> 16) & 0o100 else 0o644)
    for required in ("setup.sh", "run_autograder"):
        if not (source / required).is_file():
            raise ValueError(f"ZIP: expected {required} at the zip's root (Gradescope's layout), found none")


SYSTEM = ("usr", "etc", "var", "opt", "bin", "sbin", "lib", "lib32", "lib64", "sys", "run", "boot")


def machine_read_only() -> list[str]:
    """bwrap arguments that show this machine's system folders (``SYSTEM``) read-only, links as links, and
    nothing else of it: no homes, no mounts, no course checkout (one inside a system folder is covered by an
    empty folder), as a Gradescope container has none of them."""
    argv: list[str] = []
    for name in SYSTEM:
        entry = Path("/") / name
        if entry.is_symlink():
            argv += ["--symlink", str(entry.readlink()), str(entry)]
        elif entry.is_dir():
            argv += ["--ro-bind", str(entry), str(entry)]
    checkout = Path(__file__).resolve().parents[2]
    if len(checkout.parts) > 2 and checkout.parts[1] in SYSTEM:
        argv += ["--tmpfs", str(checkout)]
    return argv


def sandbox_argv(tree: Path, container: str, network: bool, pip_cache: Path | None) -> list[str]:
    """bwrap's argv for one phase: ``tree`` bound at /autograder, the rest of the machine read-only."""
    if container not in CONTAINERS:
        raise ValueError(f"container: expected one of {CONTAINERS}, got {container!r}")
    python = Path(sys.base_prefix).resolve()
    folders = [p for p in reversed(python.parents) if Path("/root") in p.parents]   # readable by every uid
    # docker: a PID namespace with its own /proc, as a container has. privileged: this machine's /proc and /dev,
    # so that bubblewrap inside may mount a proc of its own (a bwrap-made /proc has read-only parts that forbid it)
    kernel_files = (["--dev", "/dev", "--proc", "/proc", "--unshare-pid"] if container == "docker"
                    else ["--dev-bind", "/dev", "/dev", "--bind", "/proc", "/proc"])
    argv = [BWRAP, *machine_read_only(), *kernel_files, "--perms", "1777", "--tmpfs", "/tmp", "--tmpfs", "/root",
            *(a for p in folders for a in ("--perms", "0755", "--dir", str(p))),
            "--ro-bind", str(python), str(python), "--bind", str(tree), "/autograder", "--unshare-ipc",
            "--unshare-uts", "--die-with-parent", "--chdir", "/autograder", "--clearenv",
            "--setenv", "PATH", f"{python}/bin:{PATH}", "--setenv", "HOME", "/root", "--setenv", "LANG", "C.UTF-8"]
    if container == "docker":
        argv += ["--cap-drop", "ALL"]
        for cap in DOCKER_CAPS:
            argv += ["--cap-add", f"CAP_{cap}"]
    elif Path("/sys/fs/cgroup").is_dir():
        argv += ["--bind", "/sys/fs/cgroup", "/sys/fs/cgroup"]
    if not network:
        argv.append("--unshare-net")
    if pip_cache is not None:
        pip_cache.mkdir(parents=True, exist_ok=True)
        argv += ["--bind", str(pip_cache), str(pip_cache), "--setenv", "PIP_CACHE_DIR", str(pip_cache)]
    return argv


def _phase(argv: list[str], timeout: float) -> tuple[float, str, int]:
    start = time.perf_counter()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        out, code = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as err:
        out, code = f"{err.stdout or ''}{err.stderr or ''}\n(stopped after {timeout:g} s)", 124
    return time.perf_counter() - start, out, code


def prepare(zip_path: Path, work: Path) -> Path:
    """Make ``work/autograder`` (source unpacked, run_autograder in place, empty results); returns it."""
    tree = work / "autograder"
    (tree / "source").mkdir(parents=True)
    unpack(Path(zip_path), tree / "source")
    shutil.copy2(tree / "source" / "run_autograder", tree / "run_autograder")
    (tree / "run_autograder").chmod(0o755)
    return tree


def setup(tree: Path, container: str = "docker", pip_cache: Path | None = None,
          timeout: float = 1800) -> tuple[float, str]:
    """Run setup.sh in ``tree`` (network on); raises RuntimeError with its output if it fails."""
    seconds, log, code = _phase(sandbox_argv(tree, container, True, pip_cache) +
                                ["bash", "/autograder/source/setup.sh"], timeout)
    if code != 0:
        raise RuntimeError(f"setup.sh failed (exit {code}):\n{log[-4000:]}")
    return seconds, log


def grade(tree: Path, submission: Path, container: str = "docker", timeout: float = 1800) -> tuple[dict | None,
                                                                                                 float, str]:
    """Copy ``submission`` to /autograder/submission, run run_autograder (network off); (results, seconds, log)."""
    for name in ("submission", "results"):
        shutil.rmtree(tree / name, ignore_errors=True)
    if Path(submission).is_dir():
        shutil.copytree(submission, tree / "submission", symlinks=True)
    else:
        raise FileNotFoundError(f"SUBMISSION_DIR: expected a folder with the student's files, got {submission}")
    (tree / "results").mkdir()
    seconds, log, _ = _phase(sandbox_argv(tree, container, False, None) + ["/autograder/run_autograder"], timeout)
    path = tree / "results" / "results.json"
    results = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    return results, seconds, log


def run(zip_path: Path, submission: Path, container: str = "docker", pip_cache: Path | None = None,
        keep: bool = False) -> Run:
    """The whole contract once: unpack, setup.sh, run_autograder, results.json. The folder is deleted unless
    ``keep``."""
    work = Path(tempfile.mkdtemp(prefix="lora-gradescope-run-"))
    try:
        tree = prepare(zip_path, work)
        setup_seconds, setup_log = setup(tree, container, pip_cache)
        results, run_seconds, run_log = grade(tree, submission, container)
        return Run(results, setup_seconds, run_seconds, setup_log + run_log, work if keep else None)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
