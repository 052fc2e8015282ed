"""Lesson 04, section 4: three ways to serve a batch whose rows belong to different tasks, timed side by side,
and the sentences about which is faster, each decided by this run.

For each number of distinct adapters in the batch (rows assigned round-robin), ``merge_per_task``,
``loop_per_adapter`` and ``gathered`` (``lora_course.multi_lora``) run in interleaved rounds, each call timed
by the thread's CPU time with BLAS on one thread (the question is how much compute each strategy needs),
next to an A/A control (the loop again, on its own copy of the weights). Every comparison is a claim
"a is faster than b" on the median per-round time ratio a / b; a sentence about who is faster is printed
only when its interval says so.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from lora_course.lessons.l04_latency import MIN_ROUNDS
from lora_course.measure.clocks import thread_cpu_clock
from lora_course.measure.intervals import BATCHES, MIN_SAMPLES, batch_median, unbounded
from lora_course.measure.timing import Comparison, compare
from lora_course.measure.verdicts import Claim, Verdict, claim, control_gate
from lora_course.merge import Adapter
from lora_course.multi_lora import gathered, loop_per_adapter, merge_per_task, round_robin_ids, stack_adapters
from lora_course.validation import (
    InputError,
    as_float_array,
    check_callable,
    check_instance,
    check_int,
    check_number,
    check_positive_int,
    check_rng,
    check_sequence,
)

STRATEGIES = {"merge_per_task": "merge per task", "loop_per_adapter": "loop per adapter",
              "gathered": "gathered (einsum)"}
SERVING_CONTROL = "loop_copy"          # the A/A control: loop_per_adapter on its own copy of W0 and the adapters


@dataclass
class ServingTiming:
    """One batch mix: ``distinct`` adapters among the rows, and the strategies' ``Comparison``."""

    distinct: int
    comparison: Comparison


def time_serving(W0: np.ndarray, adapters: Sequence[Adapter], X: np.ndarray, distinct: Sequence[int],
                 rng: np.random.Generator, *, total_seconds: float = 8.0, min_rounds: int = MIN_ROUNDS,
                 progress: Callable[[str], None] | None = None) -> list[ServingTiming]:
    """Time the three strategies on X (n, k) for each count in ``distinct`` (at most ``len(adapters)``),
    sharing ``total_seconds`` of wall-clock time among the counts by their expected cost."""
    W0 = as_float_array("W0", W0, ndim=2)
    adapters = list(check_sequence("adapters", adapters, min_len=1))
    for i, a in enumerate(adapters):
        check_instance(f"adapters[{i}]", a, Adapter)
    X = as_float_array("X", X, ndim=2)
    if X.shape[1] != W0.shape[1]:
        raise InputError(f"X: expected (n, {W0.shape[1]}) rows for W0 of shape {W0.shape}, got {X.shape}")
    counts = [check_int("distinct", c, 1, len(adapters)) for c in check_sequence("distinct", distinct, min_len=1)]
    rng = check_rng(rng)
    total_seconds = check_number("total_seconds", total_seconds, minimum=0, strict=False)
    min_rounds = check_positive_int("min_rounds", min_rounds)
    if progress is not None:
        check_callable("progress", progress, ("label",))
    stacked = stack_adapters(adapters)
    W0_copy, adapters_copy = W0.copy(), copy.deepcopy(adapters)
    start, out = time.perf_counter(), []
    plans = []
    for n in counts:
        ids = round_robin_ids(X.shape[0], n)
        plans.append({"merge_per_task": lambda ids=ids: merge_per_task(W0, adapters, X, ids),
                      "loop_per_adapter": lambda ids=ids: loop_per_adapter(W0, adapters, X, ids),
                      "gathered": lambda ids=ids: gathered(W0, stacked, X, ids),
                      SERVING_CONTROL: lambda ids=ids: loop_per_adapter(W0_copy, adapters_copy, X, ids)})
    weights = [sum(_warm_seconds(f) for f in fns.values()) for fns in plans]
    for i, (n, fns) in enumerate(zip(counts, plans, strict=True)):
        left = max(0.0, total_seconds - (time.perf_counter() - start))
        share = max(weights[i] / sum(weights[i:]), 0.5 / (len(counts) - i))     # never below half an equal share
        comp = compare(fns, "loop_per_adapter", rng=rng, threads=1, min_rounds=min_rounds, max_rounds=400,
                       target_halfwidth=0.02, max_seconds=left * share,
                       measure=thread_cpu_clock, control=SERVING_CONTROL)
        out.append(ServingTiming(n, comp))
        if progress is not None:
            progress(f"{n} distinct")
    return out


def _warm_seconds(fn: Callable[[], object]) -> float:
    """CPU seconds of a warm call (at least a microsecond): how the total budget is shared."""
    fn()
    start = time.thread_time_ns()
    fn()
    return max((time.thread_time_ns() - start) * 1e-9, 1e-6)


def _check_timings(timings) -> list[ServingTiming]:
    timings = check_sequence("timings", timings, min_len=1)
    for i, t in enumerate(timings):
        check_instance(f"timings[{i}]", t, ServingTiming)
    return list(timings)


def rows_per_second(timings: list[ServingTiming], rows: int) -> dict[str, list[float]]:
    """{strategy: rows / median seconds per batch, one per timing}: what the plot draws."""
    timings = _check_timings(timings)
    rows = check_positive_int("rows", rows)
    return {s: [rows / t.comparison.median_seconds(s) for t in timings] for s in STRATEGIES}


def serving_claims(timings: list[ServingTiming], *, rng: np.random.Generator) -> list[Claim]:
    """For each timing and each pair of strategies a, b: the claim 'a is faster than b' (median time ratio
    a / b below 1); all "not resolved: too busy" when the run's pooled A/A control misses 1 (99 % interval)."""
    timings = _check_timings(timings)
    rng = check_rng(rng)
    out = []
    for t in timings:
        comp = t.comparison
        for a, b in combinations(STRATEGIES, 2):
            out.append(claim(f"{STRATEGIES[a]} is faster than {STRATEGIES[b]} with {_mix(t.distinct)}",
                             comp.ratio_between(a, b, rng=rng), "below", 1.0,
                             min_samples=max(MIN_SAMPLES, comp.min_rounds)))
    ratios = [t.comparison.times[SERVING_CONTROL] / t.comparison.times["loop_per_adapter"] for t in timings]
    pooled = np.concatenate(ratios)
    control = (batch_median(pooled, level=0.99) if pooled.size >= max(MIN_SAMPLES, BATCHES)
               else unbounded(float(np.median(pooled)), int(pooled.size), 0.99))
    return control_gate(out, [control])


def _mix(n: int) -> str:
    return f"{n} distinct adapter{'s' if n > 1 else ''}"


def serving_summary(claims: list[Claim], timings: list[ServingTiming]) -> list[str]:
    """One line per batch mix, saying only what this run's verdicts support: who is faster than whom, the
    fastest and the slowest where the verdicts single one out."""
    timings = _check_timings(timings)
    claims = check_sequence("claims", claims)
    for i, c in enumerate(claims):
        check_instance(f"claims[{i}]", c, Claim)
    pairs = list(combinations(STRATEGIES, 2))
    if len(claims) != len(pairs) * len(timings):
        raise InputError(f"claims: expected {len(pairs) * len(timings)} claims from serving_claims, got {len(claims)}")
    lines = []
    for j, t in enumerate(timings):
        beats = {s: set() for s in STRATEGIES}
        parts = []
        for (a, b), c in zip(pairs, claims[j * len(pairs):(j + 1) * len(pairs)], strict=True):
            iv = c.interval
            ratio = f"{STRATEGIES[a]} / {STRATEGIES[b]} = {iv.estimate:.2f} [{iv.lo:.2f}, {iv.hi:.2f}]"
            if c.verdict is Verdict.HOLDS:
                beats[a].add(b)
                parts.append(f"{STRATEGIES[a]} is faster than {STRATEGIES[b]} ({ratio})")
            elif c.verdict is Verdict.FAILS:
                beats[b].add(a)
                parts.append(f"{STRATEGIES[b]} is faster than {STRATEGIES[a]} ({ratio})")
            else:
                parts.append(f"{STRATEGIES[a]} against {STRATEGIES[b]}: {c.verdict} ({ratio})")
        fastest = [s for s in STRATEGIES if len(beats[s]) == len(STRATEGIES) - 1]
        slowest = [s for s in STRATEGIES if all(s in beats[o] for o in STRATEGIES if o != s)]
        verdict = (f"fastest in this run: {STRATEGIES[fastest[0]]}" if fastest
                   else "no strategy is faster than both others in this run")
        if slowest:
            verdict += f"; slowest: {STRATEGIES[slowest[0]]}"
        lines.append(f"{_mix(t.distinct)}: {verdict}. " + "; ".join(parts) + ".")
    return lines
