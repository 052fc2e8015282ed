"""Lesson 04's latency measurement: variants of one block stack timed side by side, and their table.

Timing uses ``lora_course.measure.timing``: every round runs each variant once in a random order, BLAS
pinned to one thread, each call timed by the thread's CPU time (the claims are about compute per forward
pass; time spent waiting for a busy CPU is not counted), and the overhead of a variant is the median over
rounds of ``t_variant / t_frozen`` with a batch-means 95 % interval. A copy of frozen (``CONTROL``) is
timed beside it in every case: an A/A control whose interval must contain 1.
``lora_course.lessons.l04_claims.latency_claims`` turns those intervals into verdicts (holds / does not
hold / not resolved); ``lora_course.lessons.l04_cost_model.fit_cost_model`` explains the measured extra
time by multiply-adds, elements passed through element-wise operations, and a fixed cost per operation.
"""

from __future__ import annotations

import copy
import numbers
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from lora_course.lessons.l00_overhead import BASELINE as PAPER_BASELINE
from lora_course.lessons.l00_overhead import overhead_percent
from lora_course.measure.blas_threads import blas_threads as blas_threads  # re-exported for lesson 04 and bench
from lora_course.measure.clocks import Measure, thread_cpu_clock
from lora_course.measure.timing import Comparison, Interval, _intervals, compare
from lora_course.paper import TABLE1_LATENCY_MS
from lora_course.validation import (
    InputError,
    InputTypeError,
    check_bool,
    check_callable,
    check_choice,
    check_instance,
    check_mapping,
    check_number,
    check_positive_int,
    check_rng,
    check_sequence,
)

_PAPER_NAMES = {"adapter_l": "Adapter^L", "adapter_h": "Adapter^H"}
_SHORT = {"frozen": "frozen", "merged": "merged LoRA", "lora": "unmerged LoRA", "adapter_l": "Adapter^L",
          "adapter_h": "Adapter^H"}
CONTROL = "frozen_copy"                     # the A/A control: a copy of frozen, timed as a variant of its own
CONTROL_LABEL = "frozen again (A/A copy)"
MIN_ROUNDS = 20                             # no verdict from fewer rounds
# The lesson's two settings. The quick default times three small cases (batch 1, 2, 4 at seq 32: a round of all
# six variants costs a few ms of CPU) for 3 s of this thread's CPU time in all: about 100 rounds per case, enough
# for most main claims to resolve beside four CPU-bound processes on 2 cores (benchmarks/verdict_stability.py);
# a quiet core takes about 3 s, and 12 s of wall-clock time cap the wait on any machine (fewer rounds then).
# The full run gives the paper's batch sizes 20 s of wall-clock time each.
QUICK = {"cases": ((1, 32), (2, 32), (4, 32)), "max_seconds": 12.0, "total_seconds": 12.0, "total_cpu_seconds": 3.0,
         "interleave": True}
FULL = {"cases": ((1, 32), (16, 64), (32, 128)), "max_seconds": 20.0, "total_seconds": None, "total_cpu_seconds": None,
        "interleave": False}


def paper_case(batch: int, seq: int, seq_scale: int) -> tuple[int, int] | None:
    """The paper's Table 1 case (batch, seq * seq_scale) if it has one, else None."""
    batch, seq = check_positive_int("batch", batch), check_positive_int("seq", seq)
    case = (batch, seq * check_positive_int("seq_scale", seq_scale))
    return case if case in TABLE1_LATENCY_MS else None


def paper_overhead(case: tuple[int, int] | None, variant: str) -> float | None:
    """The paper's Table 1 overhead (0.303 = +30.3 %) of ``variant`` at ``case``; 0 for frozen / merged.

    ``case`` is None or a (batch, seq) case of Table 1 (as ``paper_case`` returns); any variant name is
    accepted (None where the paper has no such variant)."""
    check_instance("variant", variant, str)
    if case is None:
        return None
    case = _check_paper_case(case)
    if variant in ("frozen", "merged"):
        return 0.0
    table = TABLE1_LATENCY_MS[case]
    key = _PAPER_NAMES.get(variant)
    return None if key not in table else overhead_percent(table[PAPER_BASELINE], table[key]) / 100


def _check_paper_case(case) -> tuple[int, int]:
    if isinstance(case, (tuple, list)) and len(case) == 2:
        try:
            if tuple(case) in TABLE1_LATENCY_MS:
                return tuple(case)
        except TypeError:              # unhashable entries
            pass
    raise InputError(f"case: expected None or one of the paper's Table 1 cases {sorted(TABLE1_LATENCY_MS)}, "
                     f"got {case!r}")


def _check_case_list(name: str, cases, *, min_len: int = 0) -> list[CaseTiming]:
    cases = check_sequence(name, cases)
    if len(cases) < min_len:
        raise InputError(f"{name}: expected at least one measured case, got none")
    for i, case in enumerate(cases):
        check_instance(f"{name}[{i}]", case, CaseTiming)
    return cases


def _check_variant_names(variants) -> tuple[str, ...]:
    variants = check_sequence("variants", variants)
    for i, v in enumerate(variants):
        check_instance(f"variants[{i}]", v, str)
    return tuple(variants)


def _check_pairs(cases) -> list[tuple[int, int]]:
    """(batch, seq) pairs of positive integers from any iterable (a list, a tuple, a generator)."""
    if isinstance(cases, (str, bytes, Mapping)) or not isinstance(cases, Iterable):
        raise InputTypeError(f"cases: expected a list of (batch, seq) pairs, got {type(cases).__name__}")
    out = []
    for i, case in enumerate(cases):
        if not isinstance(case, (tuple, list)) or len(case) != 2:
            raise InputError(f"cases[{i}]: expected a (batch, seq) pair of positive integers, got {case!r}")
        out.append((check_positive_int(f"cases[{i}] batch", case[0]), check_positive_int(f"cases[{i}] seq", case[1])))
    return out


def _check_models(models: dict) -> int:
    """Every model has ``forward`` and the same ``config.d_model``; returns that width."""
    check_mapping("models", models)
    if "frozen" not in models:
        raise InputError(f"models: expected a 'frozen' baseline, got {sorted(models, key=repr)}")
    width = None
    for name, m in models.items():
        d = getattr(getattr(m, "config", None), "d_model", None)
        if not callable(getattr(m, "forward", None)) or isinstance(d, bool) or not isinstance(d, numbers.Integral):
            raise InputTypeError(f"models[{name!r}]: expected a model with forward(X) and config.d_model "
                                 f"(a BlockStack), got {type(m).__name__}")
        if width is None:
            width, first = int(d), name
        elif d != width:
            raise InputError(f"models[{name!r}]: expected config.d_model = {width} like models[{first!r}], got {d}")
    return width


@dataclass
class CaseTiming:
    """One (batch, seq) case: its ``Comparison`` against frozen and the paper's matching case, if any."""

    batch: int
    seq: int
    comparison: Comparison
    paper: tuple[int, int] | None = None
    interleaved: bool = False       # timed in the same rounds as the other interleaved cases (round i = round i)

    @property
    def tokens(self) -> int:
        return self.batch * self.seq

    @property
    def label(self) -> str:
        return f"{self.batch} x {self.seq}"

    def overhead(self, variant: str) -> Interval:
        """Ratio interval t_variant / t_frozen (1.10 = +10 %)."""
        check_choice("variant", variant, self.comparison.ratios)
        return self.comparison.ratios[variant]


def measure_cases(models: dict, cases: Iterable[tuple[int, int]], rng: np.random.Generator, *,
                  threads: int | None = 1, target_halfwidth: float = 0.02, max_seconds: float = 5.0,
                  min_rounds: int = MIN_ROUNDS, max_rounds: int = 200, seq_scale: int = 4,
                  measure: Measure = thread_cpu_clock, progress: Callable[[str], None] | None = None,
                  control: bool = True, total_seconds: float | None = None,
                  total_cpu_seconds: float | None = None, interleave: bool = False) -> list[CaseTiming]:
    """Time ``model.forward(X)`` of every model at every (batch, seq), until resolved or out of budget.

    ``models`` maps a variant name to an object with ``forward`` and ``config.d_model`` (a BlockStack) and
    must include ``frozen``; X (batch, seq, d_model) is drawn from ``rng`` once per case. ``control`` adds a
    deep copy of frozen as the variant ``CONTROL`` (an A/A control). ``max_seconds`` is the wall-clock budget
    per case, ``total_seconds`` (if given) for all cases together, shared among the cases still to come, so
    a busy machine never stretches the wait. ``total_cpu_seconds`` (if given) is a budget of this thread's CPU
    time for all cases, shared the same way: it buys the same rounds on a quiet or a busy machine, as long
    as the wall-clock cap is not reached first. ``interleave`` runs every case in every round (each round runs
    all variants of all cases in a random order) until the budgets of all cases together are spent, so the
    rounds of two cases pair up and a claim comparing cases uses per-round differences, which no drift of the
    load between cases can bias. ``progress(label)`` is called after each case.
    """
    d_model = _check_models(models)                      # every argument checked before the first case is timed
    cases = _check_pairs(cases)
    rng = check_rng(rng)
    if threads is not None:
        check_positive_int("threads", threads)
    check_number("target_halfwidth", target_halfwidth, minimum=0, strict=False)
    check_number("max_seconds", max_seconds, minimum=0, strict=False)
    for name, value in (("total_seconds", total_seconds), ("total_cpu_seconds", total_cpu_seconds)):
        if value is not None:
            check_number(name, value, minimum=0, strict=False)
    check_positive_int("min_rounds", min_rounds)
    check_positive_int("max_rounds", max_rounds)
    if max_rounds < min_rounds:
        raise InputError(f"max_rounds: expected >= min_rounds = {min_rounds}, got {max_rounds}")
    seq_scale = check_positive_int("seq_scale", seq_scale)
    check_callable("measure", measure, (len,))
    if measure is thread_cpu_clock and threads != 1:
        raise InputError(f"threads: thread CPU time counts this thread only; expected threads=1, got {threads}")
    if progress is not None:
        check_callable("progress", progress, ("label",))
    if CONTROL in models:
        raise InputError(f"models: {CONTROL!r} is the name of the A/A control; expected other names")
    timed = dict(models) | ({CONTROL: copy.deepcopy(models["frozen"])} if check_bool("control", control) else {})
    start, cpu_start = time.perf_counter(), time.thread_time()
    inputs = [rng.normal(size=(batch, seq, d_model)) for batch, seq in cases]
    if check_bool("interleave", interleave):
        budget = min(max_seconds * len(cases), total_seconds if total_seconds is not None else float("inf"))
        return _interleaved(timed, cases, inputs, rng, budget, total_cpu_seconds, seq_scale, progress,
                            dict(threads=threads, min_rounds=min_rounds, max_rounds=max_rounds,
                                 target_halfwidth=target_halfwidth, measure=measure), control)
    weights = [_one_call(timed["frozen"], X) for X in inputs]     # the total budget is shared by expected cost
    out = []
    for i, ((batch, seq), X) in enumerate(zip(cases, inputs, strict=True)):
        budget, cpu_budget = max_seconds, None
        share = max(weights[i] / sum(weights[i:]), 0.5 / (len(cases) - i))   # by cost, >= half an equal share
        if total_seconds is not None:
            budget = min(budget, max(0.0, total_seconds - (time.perf_counter() - start)) * share)
        if total_cpu_seconds is not None:
            cpu_budget = max(0.0, total_cpu_seconds - (time.thread_time() - cpu_start)) * share
        fns = {name: (lambda m=m, X=X: m.forward(X)) for name, m in timed.items()}
        comp = compare(fns, "frozen", rng=rng, threads=threads, min_rounds=min_rounds, max_rounds=max_rounds,
                       target_halfwidth=target_halfwidth, max_seconds=budget, measure=measure,
                       control=CONTROL if control else None, max_cpu_seconds=cpu_budget)
        out.append(CaseTiming(batch, seq, comp, paper_case(batch, seq, seq_scale)))
        if progress is not None:
            progress(f"batch {batch} x seq {seq}")
    return out


def _interleaved(timed: dict, cases: list[tuple[int, int]], inputs: list[np.ndarray], rng: np.random.Generator,
                 seconds: float, cpu_seconds: float | None, seq_scale: int, progress, options: dict,
                 control: bool) -> list[CaseTiming]:
    """``measure_cases`` with every case in every round: one ``compare`` over all (case, variant) pairs, split
    into one ``Comparison`` per case (each against its own frozen)."""
    fns = {f"{i}|{name}": (lambda m=m, X=X: m.forward(X)) for i, X in enumerate(inputs) for name, m in timed.items()}
    joint = compare(fns, "0|frozen", rng=rng, max_seconds=seconds, max_cpu_seconds=cpu_seconds, **options)
    out = []
    for i, (batch, seq) in enumerate(cases):
        times = {name: joint.times[f"{i}|{name}"] for name in timed}
        comp = Comparison("frozen", times, _intervals(times, "frozen", rng), joint.seconds, joint.target_halfwidth,
                          joint.threads, joint.steady_memory, joint.clock, joint.min_rounds,
                          CONTROL if control else None, joint.cpu_seconds)
        out.append(CaseTiming(batch, seq, comp, paper_case(batch, seq, seq_scale), interleaved=True))
        if progress is not None:
            progress(f"batch {batch} x seq {seq}")
    return out


def _one_call(model, X: np.ndarray) -> float:
    """CPU seconds of a warm forward pass (at least a microsecond): how a total budget is shared (CPU time, so
    that a call another process interrupts does not look expensive)."""
    model.forward(X)                                     # the first call on a new shape is cold
    start = time.thread_time_ns()
    model.forward(X)
    return max((time.thread_time_ns() - start) * 1e-9, 1e-6)


def _ms(x: float) -> str:
    return f"{x:.2f} ms" if x < 10 else f"{x:.1f} ms" if x < 100 else f"{x:.0f} ms"


def format_table(cases: list[CaseTiming], labels: dict[str, str] | None = None) -> str:
    """Median time, overhead against frozen with its 95 % interval, rounds, and the paper's overhead beside."""
    cases = _check_case_list("cases", cases)
    if labels is not None:
        for key, text in check_mapping("labels", labels).items():
            check_instance(f"labels[{key!r}]", text, str)
    labels = {CONTROL: CONTROL_LABEL} | (labels or {})
    head = (f"{'batch':>5} {'seq':>5}  {'variant':<22}{'median':>10}   {'overhead vs frozen [95 % interval]':<36}"
            f"{'rounds':>7}  | {'paper':>7}")
    lines = [head, "-" * len(head)]
    for case in cases:
        comp = case.comparison
        for name in comp.times:
            iv = comp.ratios[name]
            over = "baseline" if name == comp.baseline else iv.as_percent_overhead()
            paper = paper_overhead(case.paper, name)
            lines.append(f"{case.batch:>5} {case.seq:>5}  {labels.get(name, name):<22}"
                         f"{_ms(1e3 * comp.median_seconds(name)):>10}   {over:<36}{comp.rounds:>7}  | "
                         f"{'' if paper is None else f'{100 * paper:+.1f} %':>7}")
    return "\n".join(lines)


def statements(cases: list[CaseTiming]) -> str:
    """How sure each case's numbers are, by which clock, and what its A/A control says, one line per case."""
    cases = _check_case_list("cases", cases)
    return "\n".join(f"{case.label:>9}: {case.comparison.statement()}" for case in cases)
