"""Lesson 04's claims: the latency intervals of ``lora_course.lessons.l04_latency`` turned into verdicts
(holds / does not hold / not resolved), and their one-line summaries.

A claim resting on fewer rounds than its case's ``min_rounds`` is "not resolved: too few samples"; when the
A/A control of any case (frozen against its own copy) misses 1, every claim of the run is "not resolved:
this machine was too busy to tell" (``lora_course.measure.verdicts.control_gate``).
"""

from __future__ import annotations

import numpy as np

from lora_course.lessons.l04_latency import _SHORT, CONTROL, CaseTiming, _check_case_list
from lora_course.measure.intervals import (
    BATCHES,
    MIN_SAMPLES,
    Interval,
    batch_median,
    batch_median_difference,
    unbounded,
)
from lora_course.measure.verdicts import Claim, claim, control_gate
from lora_course.validation import (
    InputError,
    check_instance,
    check_mapping,
    check_number,
    check_open_interval,
    check_rng,
    check_sequence,
)

CONTROL_LEVEL = 0.99        # the A/A control's interval: a busy-machine alarm that a quiet run rarely trips
FAIL_LEVEL = 0.999          # a "does not hold" needs the 99.9 % interval on the wrong side, not only the 95 % one:
                            # the lesson must never tell a busy machine's noise as a finding (verdict_stability.py)


# ---------------------------------------------------------------- claims
def latency_claims(cases: list[CaseTiming], arithmetic: dict[tuple[int, int], dict[str, float]] | None = None, *,
                   rng: np.random.Generator, merged_tolerance: float = 0.05) -> list[Claim]:
    """Lesson 04's claims, each decided by the intervals of this run (too few rounds, or an A/A control that
    misses 1, leave them not resolved).

    ``arithmetic`` maps (batch, seq) to the overhead predicted from multiply-adds per variant (0.02 = +2 %).
    """
    cases = _check_case_list("cases", cases, min_len=1)
    for i, case in enumerate(cases):
        if "frozen" not in case.comparison.times:
            raise InputError(f"cases[{i}]: expected timings against 'frozen', got {sorted(case.comparison.times)}")
    if arithmetic is not None:
        for key, predicted in check_mapping("arithmetic", arithmetic).items():
            for v, x in check_mapping(f"arithmetic[{key!r}]", predicted).items():
                check_number(f"arithmetic[{key!r}][{v!r}]", x)
    rng = check_rng(rng)
    merged_tolerance = check_number("merged_tolerance", merged_tolerance, minimum=0)
    by_size = sorted(cases, key=lambda c: c.tokens)
    small, large = by_size[0], by_size[-1]
    times = small.comparison.times

    def strict(ratio: np.ndarray) -> Interval | None:
        return batch_median(ratio, level=FAIL_LEVEL) if ratio.size >= max(MIN_SAMPLES, BATCHES) else None

    def rel(case: CaseTiming, v: str, base: str = "frozen") -> np.ndarray:
        return case.comparison.times[v] / case.comparison.times[base]

    def need(*cs: CaseTiming) -> int:
        return max(MIN_SAMPLES, *(c.comparison.min_rounds for c in cs))

    out = []
    for case in by_size:
        if "merged" in case.comparison.ratios:
            out.append(claim(f"merged LoRA costs what frozen costs (ratio within 1 ± {merged_tolerance:g}) "
                             f"at {case.label}", case.overhead("merged"), "within", 1.0, merged_tolerance,
                             digits=3, min_samples=need(case), fails_on=strict(rel(case, "merged"))))
    if "lora" in times:
        for case in by_size:
            out.append(claim(f"unmerged LoRA is slower than frozen (ratio above 1) at {case.label}",
                             case.overhead("lora"), "above", 1.0, min_samples=need(case),
                             fails_on=strict(rel(case, "lora"))))
    if "adapter_h" in times and "adapter_l" in times:
        out.append(claim(f"Adapter^H costs more than Adapter^L (ratio H / L above 1) at {small.label}",
                         small.comparison.ratio_between("adapter_h", "adapter_l", rng=rng), "above", 1.0,
                         min_samples=need(small), fails_on=strict(rel(small, "adapter_h", "adapter_l"))))
    if large is not small:
        for v in ("adapter_l", "adapter_h", "lora"):
            if v in times and v in large.comparison.times:
                a, b = (c.comparison.times[v] / c.comparison.times["frozen"] for c in (small, large))
                paired = small.interleaved and large.interleaved and a.shape == b.shape
                out.append(claim(f"{_SHORT[v]}'s overhead shrinks from {small.label} to {large.label} "
                                 f"(difference of ratios above 0)", _difference(a, b, paired), "above", 0.0,
                                 fails_on=_difference(a, b, paired, FAIL_LEVEL),
                                 min_samples=need(small, large)))
    if arithmetic and (small.batch, small.seq) in arithmetic:
        predicted = arithmetic[(small.batch, small.seq)]
        for v in ("adapter_h", "lora"):
            if v in predicted and v in times:
                out.append(claim(f"{_SHORT[v]} at {small.label} costs more than arithmetic predicts "
                                 f"(ratio above {1 + predicted[v]:.3f})", small.overhead(v), "above",
                                 1 + predicted[v], min_samples=need(small), fails_on=strict(rel(small, v))))
    control = control_interval(cases, rng=rng)
    return out if control is None else control_gate(out, [control])


def control_interval(cases: list[CaseTiming], *, rng: np.random.Generator, level: float = CONTROL_LEVEL
                     ) -> Interval | None:
    """The run's A/A control: the median of ``t_copy / t_frozen`` over the rounds of every case that timed the
    copy (one ratio per round, cases in the order run), with its batch-means interval at ``level``; None
    when no case has a control. One interval for the whole run, so the run is judged busy by one test; its
    level is 99 % so that a quiet machine is called busy about once in a hundred runs."""
    cases = _check_case_list("cases", cases)
    rng = check_rng(rng)
    level = check_open_interval("level", level, 0, 1)
    ratios = [c.comparison.times[CONTROL] / c.comparison.times["frozen"] for c in cases
              if CONTROL in c.comparison.times]
    if not ratios:
        return None
    pooled = np.concatenate(ratios)
    if pooled.size < max(MIN_SAMPLES, BATCHES):
        return unbounded(float(np.median(pooled)), int(pooled.size), level)
    return batch_median(pooled, level=level)


def _difference(a: np.ndarray, b: np.ndarray, paired: bool, level: float = 0.95) -> Interval:
    """How much larger ratio a is than ratio b: the median of the per-round differences a - b when the two cases
    were timed in the same rounds (``paired``), else median(a) - median(b); with its batch-means interval
    (Welch's for unpaired cases); unbounded when either has too few rounds."""
    if min(a.size, b.size) < max(MIN_SAMPLES, BATCHES):
        return unbounded(float(np.median(a) - np.median(b)), int(min(a.size, b.size)), level)
    return batch_median(a - b, level=level) if paired else batch_median_difference(a, b, level=level)


def latency_summary(claims: list[Claim]) -> list[str]:
    """One sentence per claim, chosen by its verdict (so no sentence can contradict the numbers)."""
    for i, c in enumerate(check_sequence("claims", claims)):
        check_instance(f"claims[{i}]", c, Claim)
    out = []
    for c in claims:
        text = c.text.split(" (")[0] + (" at " + c.text.rsplit(" at ", 1)[-1] if ") at " in c.text else "")
        out.append(c.say(f"Holds in this run: {text}.", f"Does not hold in this run: {text}.",
                         f"{str(c.verdict).capitalize()}: {text}."))
    return out
