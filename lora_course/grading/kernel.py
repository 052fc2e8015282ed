"""The kernel command: its environment, the read-only allow-list, the launch spec for launch.py, and the
kernel manager that starts the kernel through launch.py (or, with isolation none, under prlimit only).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from lora_course.grading.cgroups import Tree
from lora_course.grading.guard import KEY_VARIABLE
from lora_course.grading.settings import BWRAP, Sandbox
from lora_course.measure import budget

KERNEL_MODULE = "lora_course.grading.guard"     # installs the audit hook and the probe's codec, then the kernel


def kernel_env(home: Path) -> dict[str, str]:
    """The kernel's whole environment: nothing of the grader's (no tokens, no paths) is passed on."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "TMPDIR": "/tmp",
        "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(home / ".matplotlib"),
        "IPYTHONDIR": str(home / ".ipython"), "JUPYTER_PLATFORM_DIRS": "1", "PYTHONHASHSEED": "0",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONDONTWRITEBYTECODE": "1",
        budget.ENV: str(budget.GRADING),          # no graded item depends on a timing: the lessons' timings stay short
        KEY_VARIABLE: str(home.parent / "guard.key"),      # the guard reads and removes it at start
    }


def package_dir() -> Path:
    """The lora_course package folder (what the lessons import)."""
    return Path(__file__).resolve().parent.parent


def allowed_readonly(sandbox: Sandbox) -> list[str]:
    """The read-only allow-list: /usr, the interpreter's prefix, the virtual environment, the package, extras."""
    paths = [Path("/usr"), Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
             Path(sys.executable).resolve().parent.parent, package_dir()]
    if Path("/etc/ld.so.cache").exists():
        paths.append(Path("/etc/ld.so.cache"))
    paths += [Path(p).resolve() for p in sandbox.readonly]
    kept: list[Path] = []
    for p in dict.fromkeys(paths):
        if p.exists() and not any(k == p or k in p.parents for k in kept):
            kept = [k for k in kept if p not in k.parents] + [p]
    return [str(p) for p in kept]


def launch_spec(sandbox: Sandbox, connection_file: str, run_dir: Path, work: Path, tree: Tree) -> dict:
    """What launch.py needs to start one kernel (written by the grader, read by root only)."""
    mode, lim = sandbox.resolved(), sandbox.limits
    mem = lim.memory_mb * 1024 * 1024
    rlimits = {"RLIMIT_AS": mem, "RLIMIT_CORE": 0, "RLIMIT_FSIZE": lim.file_mb * 1024 * 1024,
               "RLIMIT_NPROC": lim.processes,
               "RLIMIT_CPU": int(lim.notebook_seconds + 2 * lim.cell_seconds + 60)}
    symlinks = [(f"/{name}", os.readlink(f"/{name}")) for name in ("bin", "lib", "lib64", "sbin")
                if os.path.islink(f"/{name}")]
    return {
        "bwrap": BWRAP, "uid": sandbox.uid if mode == "bwrap" else None, "connection_file": connection_file,
        "cgroup_procs": tree.procs_files() if mode == "bwrap" else [], "rlimits": rlimits, "symlinks": symlinks,
        "ro": allowed_readonly(sandbox), "rw": [str(run_dir)], "stage": str(run_dir.parent / "stage"),
        "tmp_bytes": lim.tmp_mb * 1024 * 1024,
        "env": kernel_env(work), "cwd": str(work),
        "command": [sys.executable, "-I", "-m", KERNEL_MODULE, "-f", connection_file],
    }


class FencedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel starts through launch.py (or, with isolation none, with rlimits only)."""

    sandbox: Sandbox = Sandbox()
    spec_file: Path = Path(".")
    work: Path = Path(".")

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        conn = os.path.realpath(self.connection_file)
        if self.sandbox.resolved() == "none":
            lim = self.sandbox.limits
            return ["prlimit", f"--as={lim.memory_mb * 1024 * 1024}", f"--fsize={lim.file_mb * 1024 * 1024}",
                    f"--nproc={lim.processes}", "--core=0", "--", "env", "-i",
                    *(f"{k}={v}" for k, v in kernel_env(self.work).items()),
                    sys.executable, "-I", "-m", KERNEL_MODULE, "-f", conn]
        return [sys.executable, "-I", "-m", "lora_course.grading.launch", str(self.spec_file)]
