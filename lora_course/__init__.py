"""lora_course: LoRA (Hu et al., 2021) from first principles in numpy.

The LoRA maths sit at the top (``layer``, ``merge``, ``lowrank``, ``gradcheck``, ``analysis``,
``multi_lora``, with ``validation`` and ``paper``); ``toy`` is the numpy transformer, ``lessons`` holds
each lesson's helpers, ``feedback`` the notebooks' checks, ``grading`` the batch grader, ``measure``
timing and verdicts, ``cli`` the command line. docs/architecture.md draws the map.

Importing this package has no side effects: no printing, no seeding, no plotting backend changes.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lora-course")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"
