"""Steady memory while timing: glibc's malloc keeps the memory numpy frees instead of handing it back.

numpy takes every array's memory from malloc. glibc serves a block above its mmap threshold (128 KiB at
first, then moved as blocks are freed) with a fresh ``mmap`` and returns it with ``munmap`` when the array
is freed, so the next array of that size pays its page faults again: kernel time that can dwarf a small
matrix product. Which variant's temporaries cross the moving threshold depends on what ran just before,
so the same work timed in turns differed by up to 25 %; a ``lora-course bench`` run spent 43 of its 143 s
in the kernel. ``keep_freed_memory`` fixes the thresholds for the rest of the process (freed memory is
reused, the heap is not trimmed), as a server that runs one model for hours would settle. Elsewhere
(macOS, Windows, musl) it changes nothing and returns False.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3     # glibc's mallopt parameters
STEADY = {M_MMAP_THRESHOLD: 32 << 20,   # glibc's largest allowed value on 64-bit: arrays below 32 MiB reuse memory
          M_TRIM_THRESHOLD: 1 << 30,    # never give the heap's top back while timing
          M_TOP_PAD: 64 << 20}          # grow the heap in large steps

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Fix glibc's malloc thresholds (``STEADY``) for this process; True if glibc took every setting.

    Called by ``measure.timing.compare`` before it times; calling it again does nothing more.
    """
    global _applied
    if _applied is None:
        _applied = False
        name = ctypes.util.find_library("c")
        try:
            libc = ctypes.CDLL(name) if name else None
            mallopt = getattr(libc, "mallopt", None)
            if mallopt is not None and hasattr(libc, "gnu_get_libc_version"):
                mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
                _applied = all(mallopt(param, value) == 1 for param, value in STEADY.items())
        except OSError:
            _applied = False
    return _applied
