"""Start one grading kernel inside bubblewrap: run by the grader as ``python -I -m lora_course.grading.launch SPEC``.

This small program is the kernel command that jupyter_client starts. As root (isolation ``bwrap``) it
joins the notebook's cgroups, binds the folders the kernel may see into a staging folder of a private
mount namespace (so that bwrap, run unprivileged, can bind folders such as ``/root/.pyenv`` that the
student's uid could not even enter), drops to the
student's uid, sets the per-process limits and replaces itself with ``bwrap``. Nothing here reads
anything the student wrote: the spec is written by the grader into a root-only file.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def stage(paths: list[str], folder: str) -> dict[str, str]:
    """Bind each path at ``folder/<i>`` in a mount namespace of this process only, so that bwrap, run as the
    student's uid, can bind folders whose parents that uid cannot enter (such as /root/.pyenv/...)."""
    libc = ctypes.CDLL(None, use_errno=True)
    _check(libc.unshare(0x00020000), "unshare(CLONE_NEWNS)")                       # a mount namespace of our own
    _check(libc.mount(b"none", b"/", None, 0x4000 | 0x40000, None), "mount --make-rprivate /")   # MS_REC|MS_PRIVATE
    os.mkdir(folder, 0o711)
    staged = {}
    for i, path in enumerate(paths):
        target = os.path.join(folder, str(i))
        if os.path.isdir(path):
            os.mkdir(target, 0o755)
        else:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        # MS_BIND | MS_REC
        _check(libc.mount(path.encode(), target.encode(), None, 0x1000 | 0x4000, None), f"bind {path}")
        staged[path] = target
    return staged


def bwrap_argv(spec: dict, sources: dict[str, str]) -> list[str]:
    """bwrap's argv: a root of its own holding only the allow-listed folders (see sandbox.py)."""
    args = [spec["bwrap"], "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent"]
    if spec.get("uid") is not None:
        args += ["--uid", str(spec["uid"]), "--gid", str(spec["uid"])]
    for link, target in spec["symlinks"]:
        args += ["--symlink", target, link]
    args += ["--proc", "/proc", "--dev", "/dev",
             "--size", str(spec["tmp_bytes"]), "--tmpfs", "/tmp",
             "--size", str(spec["tmp_bytes"]), "--tmpfs", "/dev/shm"]
    for path in spec["ro"]:
        args += ["--ro-bind", sources[path], path]
    for path in spec["rw"]:
        args += ["--bind", sources[path], path]
    for path in spec.get("masks", []):          # an empty tmpfs over a folder that must not be seen (clean_run.py)
        args += ["--tmpfs", path]
    args.append("--clearenv")
    for key, value in spec["env"].items():
        args += ["--setenv", key, value]
    args += ["--chdir", spec["cwd"], "--", *spec["command"]]
    return args


def main(argv: list[str]) -> None:
    with open(argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    pid = str(os.getpid())
    for procs in spec.get("cgroup_procs", []):          # the whole kernel tree is bounded from here on
        with open(procs, "w", encoding="ascii") as f:
            f.write(pid)
    uid = spec.get("uid")
    sources = {path: path for path in [*spec["ro"], *spec["rw"]]}
    if uid is not None and os.geteuid() == 0:
        sources.update(stage(spec["ro"], spec["stage"]))
        if spec["connection_file"]:
            os.chown(spec["connection_file"], uid, uid, follow_symlinks=False)
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    for name, value in spec["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    os.execv(spec["bwrap"], bwrap_argv(spec, sources))


if __name__ == "__main__":
    main(sys.argv)
