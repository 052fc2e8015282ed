"""Verdicts on measured claims: *holds*, *does not hold*, or *not resolved at this noise level*.

A claim compares an interval (from ``timing`` or from seeds) with a threshold. The verdict is decided
by where the whole interval lies, so noise can only turn a verdict into "not resolved", never flip it.

Intervals over rounds of a timing come from batch means (``batch_median``), never from fewer
than ``MIN_SAMPLES`` rounds; intervals over a few seeds come from Student's t (``mean_interval``), because a
bootstrap of 2-5 values is far too narrow. A claim needs ``min_samples`` samples behind its interval, or it is
"not resolved: too few samples"; ``control_gate`` makes every claim of a run "not resolved: this machine was
too busy to tell" when the run's A/A control (the baseline timed against its own copy) misses 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import numpy as np

from lora_course.measure.intervals import (
    MAX_DIGITS,
    MIN_SAMPLES,
    Interval,
    _block_indices,
    _check_magnitude,
    _check_sample,
    _percentile_interval,
    block_length,
    t_quantile,
)
from lora_course.validation import (
    InputError,
    InputTypeError,
    as_array,
    check_bool,
    check_callable,
    check_instance,
    check_int,
    check_number,
    check_open_interval,
    check_positive_int,
    check_rng,
    check_sequence,
)


class Verdict(str, Enum):
    HOLDS = "holds"
    FAILS = "does not hold"
    UNRESOLVED = "not resolved at this noise level"
    TOO_FEW = "not resolved: too few samples for a verdict"
    BUSY = "not resolved: this machine was too busy to tell"

    def __str__(self) -> str:
        return self.value

    @property
    def resolved(self) -> bool:
        """HOLDS or FAILS: the run decided the claim."""
        return self in (Verdict.HOLDS, Verdict.FAILS)


def above(interval: Interval, threshold: float) -> Verdict:
    """Claim: the quantity is greater than ``threshold``."""
    check_instance("interval", interval, Interval)
    check_number("threshold", threshold)
    if interval.lo > threshold:
        return Verdict.HOLDS
    if interval.hi <= threshold:
        return Verdict.FAILS
    return Verdict.UNRESOLVED


def below(interval: Interval, threshold: float) -> Verdict:
    """Claim: the quantity is smaller than ``threshold``."""
    check_instance("interval", interval, Interval)
    check_number("threshold", threshold)
    if interval.hi < threshold:
        return Verdict.HOLDS
    if interval.lo >= threshold:
        return Verdict.FAILS
    return Verdict.UNRESOLVED


def within(interval: Interval, target: float, tolerance: float) -> Verdict:
    """Claim: the quantity is within ``tolerance`` of ``target`` (e.g. merged / frozen = 1.00 +- 0.05)."""
    check_instance("interval", interval, Interval)
    check_number("target", target)
    check_number("tolerance", tolerance, minimum=0, what="a number")
    if target - tolerance <= interval.lo and interval.hi <= target + tolerance:
        return Verdict.HOLDS
    if interval.hi < target - tolerance or interval.lo > target + tolerance:
        return Verdict.FAILS
    return Verdict.UNRESOLVED


def bootstrap_mean_difference(a, b, *, rng: np.random.Generator, paired: bool = True, n_boot: int = 2000,
                              level: float = 0.95) -> Interval:
    """Mean of ``a - b`` (paired by index, e.g. by seed) or of ``mean(a) - mean(b)``, with a bootstrap interval."""
    return bootstrap_difference(a, b, rng=rng, paired=paired, n_boot=n_boot, level=level, statistic=np.mean)


def bootstrap_difference(a, b, *, rng: np.random.Generator, paired: bool = True, n_boot: int = 2000,
                         level: float = 0.95, statistic: Callable = np.median,
                         min_samples: int = MIN_SAMPLES) -> Interval:
    """``statistic(a - b)`` (paired) or ``statistic(a) - statistic(b)`` (two independent samples, e.g. the
    per-round ratios of two cases timed apart), with a moving-block percentile-bootstrap interval (samples
    in the order they were taken); each sample needs at least ``min_samples`` values."""
    a = _check_sample("a", a, min_samples)
    b = _check_sample("b", b, min_samples)
    paired = check_bool("paired", paired)
    if paired and a.shape != b.shape:
        raise InputError(f"b: expected shape {a.shape} to pair with a, got {b.shape}")
    level = check_open_interval("level", level, 0, 1)
    rng = check_rng(rng)
    n_boot = check_positive_int("n_boot", n_boot)
    check_callable("statistic", statistic, (a,), {"axis": 0})

    def summary(x: np.ndarray, **axis) -> np.ndarray:
        got = statistic(x, **axis)
        try:
            out = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            out = None
        if out is None or out.shape != ((x.shape[0],) if axis else ()):
            raise InputTypeError(f"statistic: expected a function returning a number per sample (like np.median, "
                                 f"with an axis argument), got {type(got).__name__}")
        return out

    def resample(x: np.ndarray) -> np.ndarray:
        return summary(x[_block_indices(x.size, block_length(x.size), n_boot, rng)], axis=1)

    if paired:
        diff = a - b
        boots, estimate = resample(diff), float(summary(diff))
    else:
        boots, estimate = resample(a) - resample(b), float(summary(a) - summary(b))
    if not np.isfinite(estimate):
        raise InputError(f"statistic: expected a finite summary of a and b, got {estimate}")
    return _percentile_interval(estimate, boots, level, int(min(a.size, b.size)))


def mean_interval(x, level: float = 0.95) -> Interval:
    """Mean of a few values (e.g. one per seed) with Student's t interval; one value gives an unbounded interval."""
    x = np.asarray(as_array("x", x), dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise InputError(f"x: expected a non-empty 1-D array of finite values, got shape {x.shape}")
    _check_magnitude("x", x)
    level = check_open_interval("level", level, 0, 1)
    mean = float(x.mean())
    if x.size == 1:
        return Interval(mean, -math.inf, math.inf, level, 1)
    half = t_quantile(0.5 + level / 2, x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return Interval(mean, min(mean, mean - half), max(mean, mean + half), level, int(x.size))


@dataclass(frozen=True)
class Claim:
    """One claim of a lesson with its computed verdict and the interval it rests on."""

    text: str
    verdict: Verdict
    interval: Interval
    unit: str = ""
    digits: int = 3

    def line(self) -> str:
        iv, g = self.interval, f".{self.digits}g"
        return f"{self.text}: {self.verdict} (estimate {iv.estimate:{g}}{self.unit}, " \
               f"{100 * iv.level:.0f} % interval [{iv.lo:{g}}, {iv.hi:{g}}]{self.unit})"

    def say(self, holds: str, fails: str, unresolved: str | None = None) -> str:
        """The sentence this run supports: ``holds`` or ``fails``, or a 'cannot tell' sentence."""
        check_instance("holds", holds, str)
        check_instance("fails", fails, str)
        if unresolved is not None:
            check_instance("unresolved", unresolved, str)
        if self.verdict is Verdict.HOLDS:
            return holds
        if self.verdict is Verdict.FAILS:
            return fails
        if self.verdict in (Verdict.TOO_FEW, Verdict.BUSY) and unresolved is None:
            return f"{str(self.verdict).capitalize()}: {self.text[0].lower() + self.text[1:]}."
        return unresolved or f"This run cannot tell whether {self.text[0].lower() + self.text[1:]} " \
                             f"(interval [{self.interval.lo:.{self.digits}g}, {self.interval.hi:.{self.digits}g}]" \
                             f"{self.unit})."


def claim(text: str, interval: Interval, test: str, threshold: float, tolerance: float | None = None,
          unit: str = "", digits: int = 3, min_samples: int = 2, fails_on: Interval | None = None) -> Claim:
    """A ``Claim`` whose verdict is ``above``, ``below`` or ``within`` (``test``) of ``threshold``; TOO_FEW when
    the interval rests on fewer than ``min_samples`` samples (or on an unknown number, ``interval.n`` None,
    while ``min_samples`` > 1 asks for more than one). ``fails_on`` (e.g. the same estimate's 99 % interval)
    raises the bar for "does not hold": the claim fails only if that interval fails it too, else it is not
    resolved, so a noisy run is far less likely to turn a claim around than to leave it open."""
    check_instance("text", text, str)
    check_instance("interval", interval, Interval)
    if not isinstance(test, str) or test not in ("above", "below", "within"):
        raise InputError(f"test: expected 'above', 'below' or 'within', got {test!r}")
    check_number("threshold", threshold)
    if tolerance is not None:
        check_number("tolerance", tolerance, minimum=0, what="a number")
    check_instance("unit", unit, str)
    digits = check_int("digits", digits, 0, MAX_DIGITS)
    min_samples = check_positive_int("min_samples", min_samples)
    if test == "within" and tolerance is None:
        raise InputError("tolerance: expected a number > 0 for a 'within' claim, got None")
    if fails_on is not None:
        check_instance("fails_on", fails_on, Interval)
    if (interval.n or 0) < min_samples and not (interval.n is None and min_samples <= 2):
        return Claim(text, Verdict.TOO_FEW, interval, unit, digits)
    if test == "above":
        verdict = above(interval, threshold)
    elif test == "below":
        verdict = below(interval, threshold)
    else:                                            # "within"
        verdict = within(interval, threshold, tolerance)
    if verdict is Verdict.FAILS and fails_on is not None and claim(
            text, fails_on, test, threshold, tolerance, min_samples=min_samples).verdict is not Verdict.FAILS:
        verdict = Verdict.UNRESOLVED
    return Claim(text, verdict, interval, unit, digits)


def _check_claims(claims) -> None:
    for i, c in enumerate(check_sequence("claims", claims)):
        check_instance(f"claims[{i}]", c, Claim)


def format_claims(claims: list[Claim]) -> str:
    """One line per claim, for printing in a notebook or a command's output."""
    _check_claims(claims)
    return "\n".join(c.line() for c in claims)


def tally(claims: list[Claim]) -> str:
    """'3 hold, 1 do not hold, 2 not resolved at this noise level' (plus the too-few and too-busy counts)."""
    _check_claims(claims)
    n = {v: sum(c.verdict is v for c in claims) for v in Verdict}
    text = f"{n[Verdict.HOLDS]} hold, {n[Verdict.FAILS]} do not hold, {n[Verdict.UNRESOLVED]} not resolved " \
           f"at this noise level"
    for v, words in ((Verdict.TOO_FEW, "too few samples"), (Verdict.BUSY, "machine too busy to tell")):
        if n[v]:
            text += f", {n[v]} not resolved: {words}"
    return text


def control_gate(claims: list[Claim], controls: list[Interval], target: float = 1.0) -> list[Claim]:
    """The claims as they are when every A/A control interval contains ``target`` (1 for a ratio of a variant
    to its own copy); otherwise every claim's verdict becomes BUSY, since a machine that makes two copies of
    one computation differ cannot tell real differences apart."""
    _check_claims(claims)
    for i, iv in enumerate(check_sequence("controls", controls)):
        check_instance(f"controls[{i}]", iv, Interval)
    target = check_number("target", target)
    if all(iv.contains(target) for iv in controls):
        return list(claims)
    return [Claim(c.text, Verdict.BUSY, c.interval, c.unit, c.digits) for c in claims]
