"""What a timing comparison found: raw seconds per round, ratio intervals, and how sure they are, in words.

``lora_course.measure.timing.compare`` builds a ``Comparison``; lessons and ``lora-course bench`` print its
``statement`` beside their tables and decide claims from its ``ratios``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lora_course.measure.intervals import BATCHES, MIN_SAMPLES, Interval, batch_median, unbounded
from lora_course.validation import check_choice, check_instance, check_number, check_rng


def certainty(interval: Interval, target_halfwidth: float) -> str:
    """How sure a ratio is, in words: '±1.2 %: resolved to the ±2 % asked for' or '... wider than asked'."""
    check_instance("interval", interval, Interval)
    target_halfwidth = check_number("target_halfwidth", target_halfwidth, minimum=0, strict=False)
    pm = 100 * interval.halfwidth
    asked = 100 * target_halfwidth
    if interval.halfwidth <= target_halfwidth:
        return f"±{pm:.1f} %: resolved to the ±{asked:g} % asked for"
    return f"±{pm:.1f} %: wider than the ±{asked:g} % asked for (busy machine or too few rounds)"


@dataclass
class Comparison:
    """Variants timed against ``baseline``: raw seconds (rounds,) each, ratio intervals, and the budget used.

    ``clock`` names what was measured; ``min_rounds`` is the fewest rounds a verdict may rest on; ``control``
    names a copy of the baseline timed beside it (an A/A control), or None.
    """

    baseline: str
    times: dict[str, np.ndarray]
    ratios: dict[str, Interval]
    seconds: float
    target_halfwidth: float
    threads: int | None
    steady_memory: bool = False     # glibc kept freed memory while timing (``measure.allocator``)
    clock: str = "wall-clock time"
    min_rounds: int = 1
    control: str | None = None
    cpu_seconds: float | None = None    # this thread's CPU time spent timing (None: not recorded)

    @property
    def rounds(self) -> int:
        return len(self.times[self.baseline])

    @property
    def enough_rounds(self) -> bool:
        """At least ``min_rounds`` rounds: enough for a verdict."""
        return self.rounds >= max(self.min_rounds, MIN_SAMPLES)

    @property
    def control_agrees(self) -> bool:
        """The A/A control's interval contains 1 (True when there is no control)."""
        return self.control is None or self.ratios[self.control].contains(1.0)

    @property
    def resolved(self) -> bool:
        """Every ratio interval at least as narrow as asked for."""
        return all(iv.halfwidth <= self.target_halfwidth for iv in self.ratios.values())

    def median_seconds(self, name: str) -> float:
        check_choice("name", name, self.times)
        return float(np.median(self.times[name]))

    def ratio_between(self, name: str, other: str, *, rng: np.random.Generator) -> Interval:
        """Median over rounds of ``t_name / t_other`` (both timed in the same rounds) with its interval
        (unbounded with fewer than ``MIN_SAMPLES`` rounds)."""
        check_choice("name", name, self.times)
        check_choice("other", other, self.times)
        rng = check_rng(rng)
        ratio = self.times[name] / self.times[other]
        if ratio.size < max(MIN_SAMPLES, BATCHES):
            return unbounded(float(np.median(ratio)), int(ratio.size))
        return batch_median(ratio)

    def statement(self) -> str:
        """One line on how sure the ratios are, by which clock, and whether the A/A control agrees."""
        others = [iv for n, iv in self.ratios.items() if n not in (self.baseline, self.control)]
        worst = max((iv.halfwidth for iv in others), default=0.0)
        blas = f"BLAS threads {self.threads}" if self.threads else "BLAS threads as configured"
        blas += ", freed memory kept" if self.steady_memory else ""
        verdict = "every interval within" if self.resolved else "some intervals wider than"
        cpu = "" if self.cpu_seconds is None else f" ({self.cpu_seconds:.2f} s of this thread's CPU time)"
        line = (f"{self.rounds} interleaved rounds in {self.seconds:.1f} s{cpu}, timed by {self.clock}, {blas}; "
                f"widest 95 % interval ±{100 * worst:.1f} %: {verdict} the "
                f"±{100 * self.target_halfwidth:g} % asked for")
        if not self.enough_rounds:
            line += f"; fewer than the {max(self.min_rounds, MIN_SAMPLES)} rounds a verdict needs"
        if self.control is not None:
            iv = self.ratios[self.control]
            line += (f"; A/A control {iv.as_ratio()} " + ("contains 1" if iv.contains(1.0) else "MISSES 1: too busy"))
        return line
