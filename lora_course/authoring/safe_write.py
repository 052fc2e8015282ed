"""Writing files without losing what was there, and never through a symlink.

A changed file is copied aside first; every write goes to a new file beside the target (created with
``O_EXCL | O_NOFOLLOW``) that then replaces the target's name atomically, so a link planted at the
target is replaced, never followed. A folder on the way that is a symlink owned by another user
(someone else's link in ``/tmp``) is refused.
"""

from __future__ import annotations

import os
import secrets
import stat
import time
from pathlib import Path


class UnsafePath(OSError):
    """A path to write leads through a symlink that someone else owns."""


def check_parents(path: Path) -> None:
    """Refuse a path whose existing folders include a symlink not owned by us (or root)."""
    path = Path(os.path.abspath(path))
    for parent in [*reversed(path.parents)]:
        try:
            st = os.lstat(parent)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(st.st_mode) and st.st_uid not in (os.geteuid(), 0):
            raise UnsafePath(f"{path}: expected a path without other users' symlinks, got {parent} -> "
                             f"{os.readlink(parent)} (owned by uid {st.st_uid})")


def make_folder(folder: Path) -> Path:
    """Create ``folder`` (and parents) unless it exists; a symlink in its place is refused."""
    folder = Path(folder)
    check_parents(folder / "x")
    if folder.is_symlink():
        raise UnsafePath(f"{folder}: expected a folder, got a symlink to {os.readlink(folder)}")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _read_regular(path: Path) -> str | None:
    """The text of ``path`` if it is a regular file (never following a link), else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None
        return f.read().decode("utf-8", errors="replace")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a new file beside ``path`` and rename it over ``path`` (a link there is replaced)."""
    path = Path(path)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_keeping_old(path: Path, text: str, backup_dir: Path | None = None) -> Path | None:
    """Write ``text`` to ``path``; if a regular file is there with other content, first copy it to
    ``<backup_dir or path's folder>/<name>.<timestamp>.bak`` and return that copy (else None).

    A symlink at ``path`` is replaced by the new file, never written through (and not backed up).
    """
    path = Path(path)
    make_folder(path.parent)
    kept = None
    old = _read_regular(path)
    if old is not None and old != text:
        folder = make_folder(Path(backup_dir)) if backup_dir else path.parent
        kept = folder / f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}.bak"
        n = 1
        while kept.exists() or kept.is_symlink():
            kept = folder / f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}-{n}.bak"
            n += 1
        write_atomic(kept, old)
    write_atomic(path, text)
    return kept
