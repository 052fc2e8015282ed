"""How many threads numpy's BLAS may use, via threadpoolctl.

The course multiplies small matrices; on a shared 2-core machine BLAS threads then cost far more than
they save (a lesson 03 training step measured 8 ms with one thread, over 100 ms with two under load),
and timings jump. Lessons and commands pin BLAS to one thread; setting ``OPENBLAS_NUM_THREADS=1``
before Python starts has the same effect.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

from lora_course.validation import check_positive_int


def limit_blas_threads(n: int = 1) -> None:
    """Let numpy's BLAS use at most ``n`` threads from now on."""
    threadpool_limits(limits=check_positive_int("n", n), user_api="blas")


@contextmanager
def blas_threads(n: int) -> Iterator[int]:
    """Run the block with at most ``n`` BLAS threads, then restore the previous setting; yields ``n``."""
    with threadpool_limits(limits=check_positive_int("n", n), user_api="blas"):
        yield n
