"""One store of results for a whole test run, shared by pytest-xdist's workers, keyed by what the results depend on.

A result is stored under the sha256 of its inputs as the caller names them (a notebook's bytes, every option),
plus the source of the ``lora_course`` package and the interpreter: a change to the code, the notebook or an
option gives a fresh key, so a stale result is never read back. A lock file per key makes the workers take
turns: the first computes and stores, a later one reads. Values are JSON (or pickled test data, see
``get_or_compute``) and come back as new objects each time, so no test can change what another one reads.

The store lives in the run's temporary folder (the folder every worker's basetemp sits in, under xdist), so each
``pytest`` run starts empty: nothing carries over between runs.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent.parent / "lora_course"


@functools.cache
def package_digest(package: Path = PACKAGE) -> str:
    """sha256 over the relative path and bytes of every file of the package (its ``__pycache__`` aside)."""
    h = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def key_of(namespace: str, parts: list) -> str:
    """The key of a result: its namespace and inputs, the package's source and the interpreter."""
    text = json.dumps([namespace, package_digest(), sys.executable, sys.version, parts], sort_keys=True,
                      default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def run_folder(basetemp: Path) -> Path:
    """The store of this run: beside the xdist workers' basetemps (their shared parent), else in the basetemp."""
    root = Path(basetemp).parent if os.environ.get("PYTEST_XDIST_WORKER") else Path(basetemp)
    folder = root / "shared-results"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


class Held:
    """A key's lock, held: ``value()`` reads what is stored (None if nothing), ``store`` writes, ``release``."""

    def __init__(self, folder: Path, key: str, blocking: bool = True) -> None:
        self.path = folder / f"{key}.json"
        self._fd = os.open(folder / f"{key}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise

    def value(self) -> Any | None:
        if not self.path.exists():
            return None
        data = self.path.read_bytes()
        return pickle.loads(data) if self.path.suffix == ".pickle" else json.loads(data)

    def store(self, value: Any) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(value))
        tmp.replace(self.path)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class Store:
    """The run's shared results (``folder`` from :func:`run_folder`); counts what it computed and what it read."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.computed = self.read = 0

    def hold(self, namespace: str, parts: list, blocking: bool = True) -> Held:
        """The lock of this result's key (raises BlockingIOError when ``blocking`` is off and another holds it)."""
        return Held(self.folder, key_of(namespace, parts), blocking)

    def get_or_compute(self, namespace: str, parts: list, compute: Callable[[], Any], *, as_pickle: bool = False):
        """The stored result for these inputs, else ``compute()``'s, stored first (JSON; ``as_pickle`` for test
        data that JSON cannot hold). Either way a new object, never one another caller holds."""
        held = self.hold(namespace, parts)
        if as_pickle:
            held.path = held.path.with_suffix(".pickle")
        try:
            stored = held.value()
            if stored is not None:
                self.read += 1
                return stored
            value = compute()
            if as_pickle:
                tmp = held.path.with_suffix(".tmp")
                tmp.write_bytes(pickle.dumps(value))
                tmp.replace(held.path)
            else:
                held.store(value)
            self.computed += 1
            return held.value()
        finally:
            held.release()
