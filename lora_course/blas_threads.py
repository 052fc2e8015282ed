"""Best-effort control of the BLAS thread pool behind numpy, without extra dependencies.

The toy model multiplies small matrices; on a shared 2-core machine OpenBLAS's threads then cost far
more than they save (a training step measured 8 ms with one thread and over 100 ms with the default).
Setting ``OPENBLAS_NUM_THREADS=1`` before numpy is imported is the portable fix; this function does
the same after import for the OpenBLAS builds that numpy ships with.
"""

from __future__ import annotations

import ctypes
import glob
import os

_SYMBOLS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads", "MKL_Set_Num_Threads")


def _candidate_libraries() -> list[str]:
    import numpy as np

    root = os.path.dirname(os.path.dirname(np.__file__))
    found = []
    for pattern in ("numpy.libs/*openblas*", "numpy/.dylibs/*openblas*", "numpy.libs/*mkl*"):
        found += glob.glob(os.path.join(root, pattern))
    return found


def limit_blas_threads(n: int = 1) -> bool:
    """Ask numpy's BLAS to use ``n`` threads; True if a known library accepted the call."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: expected an integer >= 1, got {n!r}")
    done = False
    for path in [None, *_candidate_libraries()]:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in _SYMBOLS:
            fn = getattr(lib, symbol, None)
            if fn is not None:
                fn(ctypes.c_int(n))
                done = True
    return done
