"""A cap on every timing budget of this process, for runs where nobody reads the timings.

The lessons' timing cells spend their budget (lesson 04's serving comparison, 10 s of wall-clock time) to give
a student verdicts worth reading. The grader runs every cell of a submission for its answers and tasks, and no
graded item depends on a measured time, so its kernels set ``LORA_COURSE_TIMING_CAP`` (seconds): every budget of
``measure.timing.time_until_resolved``, wall-clock and CPU time alike, is then at most that. With a small cap a
comparison ends with too few rounds and says "not resolved", as a busy machine's would. Unset: no cap.
"""

from __future__ import annotations

import math
import os

from lora_course.validation import InputError

ENV = "LORA_COURSE_TIMING_CAP"
GRADING = 0.5          # what the grader's kernels set: a few rounds per comparison, never a verdict


def timing_cap() -> float:
    """The cap in seconds from ``LORA_COURSE_TIMING_CAP``, or +inf when it is unset or empty."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return math.inf
    try:
        cap = float(text)
    except ValueError:
        cap = math.nan
    if not math.isfinite(cap) or cap < 0:
        raise InputError(f"{ENV}: expected a number of seconds >= 0 (or unset for no cap), got {text!r}")
    return cap

