"""Writing files without losing what was there: a changed file is copied aside first."""

from __future__ import annotations

import shutil
import time
from pathlib import Path


def write_keeping_old(path: Path, text: str, backup_dir: Path | None = None) -> Path | None:
    """Write ``text`` to ``path``; if the file exists with other content, first copy it to
    ``<backup_dir or path's folder>/<name>.<timestamp>.bak`` and return that copy (else None)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = None
    if path.exists() and path.read_text(encoding="utf-8", errors="replace") != text:
        folder = Path(backup_dir) if backup_dir else path.parent
        folder.mkdir(parents=True, exist_ok=True)
        kept = folder / f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}.bak"
        n = 1
        while kept.exists():
            kept = folder / f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}-{n}.bak"
            n += 1
        shutil.copy2(path, kept)
    path.write_text(text, encoding="utf-8")
    return kept
