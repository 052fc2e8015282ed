"""Keep the optional extra's libraries offline and quiet while they load.

This course downloads nothing at run time: every weight it uses is made in the notebook. Yet importing PEFT imports
bitsandbytes, whose CPU backend (0.50) asks the Hugging Face Hub for an optional kernel on processors with
AVX512-BF16. On an offline laptop that look-up fails at once and logs a warning; behind a network that drops
packets it blocks the import for minutes; with a network it would fetch code the course never runs. Either way
the warning lands in the notebook's stderr, so the stored outputs of appendix 06 would depend on the machine.

``work_offline()``, called before ``torch``, ``peft`` or ``bitsandbytes`` is imported, sets ``HF_HUB_OFFLINE=1``
(unless the user set ``HF_HUB_OFFLINE`` themselves) and raises the log level of the libraries that report
that look-up, so nothing is fetched and nothing machine-dependent is printed. Errors still show.
"""
from __future__ import annotations

import logging
import os
import sys

# The libraries whose import-time look-up of an optional Hub kernel logs a warning (bitsandbytes for the failure,
# kernels for "skipping the publisher check in offline mode", huggingface_hub for retries).
QUIET_LOGGERS: tuple[str, ...] = ("bitsandbytes", "kernels", "huggingface_hub")
HUB_MODULES: tuple[str, ...] = ("huggingface_hub", "kernels", "peft", "transformers", "bitsandbytes")


_too_late: list[str] | None = None


def work_offline() -> list[str]:
    """Make the Hub libraries work offline and log only errors; return the modules it came too late for.

    Returns the names in ``HUB_MODULES`` that had been imported before the first call in this process (they read
    ``HF_HUB_OFFLINE`` at import, so for them the setting may come too late); an empty list means it took effect
    everywhere. Calling it again (re-running a notebook's first cell) changes nothing and returns the same list.
    """
    global _too_late
    if _too_late is None:
        _too_late = [name for name in HUB_MODULES if name in sys.modules]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    return list(_too_late)
