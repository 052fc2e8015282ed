"""Lesson 04's latency measurement: variants of one block stack timed side by side, claims decided by the run.

Timing uses ``lora_course.measure.timing``: every round runs each variant once in a random order, BLAS
pinned to one thread, and the overhead of a variant is the median over rounds of ``t_variant / t_frozen``
with a bootstrap 95 % interval. ``latency_claims`` turns those intervals into verdicts (holds / does not
hold / not resolved at this noise level); ``fit_cost_model`` explains the measured extra time by
multiply-adds, elements passed through element-wise operations, and a fixed cost per operation.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from lora_course.lessons.l00_overhead import BASELINE as PAPER_BASELINE
from lora_course.lessons.l00_overhead import overhead_percent
from lora_course.measure.blas_threads import blas_threads as blas_threads  # re-exported for lesson 04 and bench
from lora_course.measure.timing import Comparison, Interval, Measure, compare, wall_clock
from lora_course.measure.verdicts import Claim, bootstrap_difference, claim
from lora_course.paper import TABLE1_LATENCY_MS
from lora_course.validation import (
    InputError,
    InputTypeError,
    as_array,
    check_callable,
    check_choice,
    check_instance,
    check_int,
    check_mapping,
    check_number,
    check_positive_int,
    check_rng,
    check_sequence,
    check_shape,
)

_PAPER_NAMES = {"adapter_l": "Adapter^L", "adapter_h": "Adapter^H"}
_SHORT = {"frozen": "frozen", "merged": "merged LoRA", "lora": "unmerged LoRA", "adapter_l": "Adapter^L",
          "adapter_h": "Adapter^H"}


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
                  min_rounds: int = 10, max_rounds: int = 200, seq_scale: int = 4, measure: Measure = wall_clock,
                  progress: Callable[[str], None] | None = None) -> list[CaseTiming]:
    """Time ``model.forward(X)`` of every model at every (batch, seq), until resolved or out of budget.

    ``models`` maps a variant name to an object with ``forward`` and ``config.d_model`` (a BlockStack) and
    must include ``frozen``; X (batch, seq, d_model) is drawn from ``rng`` once per case. ``max_seconds``
    is the timing budget per case. ``progress(label)`` is called after each case.
    """
    d_model = _check_models(models)                      # every argument checked before the first case is timed
    cases = _check_pairs(cases)
    rng = check_rng(rng)
    if threads is not None:
        check_positive_int("threads", threads)
    check_number("target_halfwidth", target_halfwidth, minimum=0, strict=False)
    check_number("max_seconds", max_seconds, minimum=0, strict=False)
    check_positive_int("min_rounds", min_rounds)
    check_positive_int("max_rounds", max_rounds)
    if max_rounds < min_rounds:
        raise InputError(f"max_rounds: expected >= min_rounds = {min_rounds}, got {max_rounds}")
    seq_scale = check_positive_int("seq_scale", seq_scale)
    check_callable("measure", measure)
    if progress is not None:
        check_callable("progress", progress)
    out = []
    for batch, seq in cases:
        X = rng.normal(size=(batch, seq, d_model))
        fns = {name: (lambda m=m, X=X: m.forward(X)) for name, m in models.items()}
        comp = compare(fns, "frozen", rng=rng, threads=threads, min_rounds=min_rounds, max_rounds=max_rounds,
                       target_halfwidth=target_halfwidth, max_seconds=max_seconds, measure=measure)
        out.append(CaseTiming(batch, seq, comp, paper_case(batch, seq, seq_scale)))
        if progress is not None:
            progress(f"batch {batch} x seq {seq}")
    return out


def _ms(x: float) -> str:
    return f"{x:.2f} ms" if x < 10 else f"{x:.1f} ms" if x < 100 else f"{x:.0f} ms"


def format_table(cases: list[CaseTiming], labels: dict[str, str] | None = None) -> str:
    """Median time, overhead against frozen with its 95 % interval, rounds, and the paper's overhead beside."""
    cases = _check_case_list("cases", cases)
    if labels is not None:
        for key, text in check_mapping("labels", labels).items():
            check_instance(f"labels[{key!r}]", text, str)
    labels = labels or {}
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
    """How sure each case's numbers are, one line per case."""
    cases = _check_case_list("cases", cases)
    return "\n".join(f"{case.label:>9}: {case.comparison.statement()}" for case in cases)


# ---------------------------------------------------------------- arithmetic and cost model
def flops_per_token(d_model: int, d_ff: int, n_layers: int, seq: int, extra: str = "frozen", r: int = 4,
                    bottleneck: int = 0) -> float:
    """Multiply-adds per token of one forward pass (matrix products only), for the overhead one expects from
    arithmetic alone: projections 4 D^2, scores and mixing 2 T D, MLP 2 D F, plus LoRA 2 x 2 r D on q and v,
    or 2 D m per adapter (1 per block for adapter_l, 2 for adapter_h)."""
    D, F = check_positive_int("d_model", d_model), check_positive_int("d_ff", d_ff)
    n_layers, seq = check_positive_int("n_layers", n_layers), check_positive_int("seq", seq)
    r, bottleneck = check_positive_int("r", r), check_int("bottleneck", bottleneck, 0)
    check_choice("extra", extra, ("frozen", "merged", "lora", "adapter_l", "adapter_h"))
    base = 4 * D * D + 2 * seq * D + 2 * D * F
    extra_macs = {"frozen": 0, "merged": 0, "lora": 2 * 2 * r * D, "adapter_l": 2 * D * bottleneck,
                  "adapter_h": 2 * 2 * D * bottleneck}
    return float(n_layers * (base + extra_macs[extra]))


# numpy operations of one extra module, counted from the code (lora_course.layer, blocks, mlp, layernorm)
LORA_OPS = 10        # per adapted matrix: 3 input checks (isfinite + all), 2 thin products, scale, add
ADAPTER_OPS = 14     # down product, + bias, GELU (9 element-wise ops), up product, + bias, + skip
LAYERNORM_OPS = 12   # input check (2), mean, centre, square, mean, + eps, sqrt, 1 /, scale, * gamma, + beta


def extra_cost_features(variant: str, tokens: int, d_model: int, n_layers: int, r: int = 4,
                        bottleneck: int = 0) -> np.ndarray:
    """What a variant adds to frozen in one forward pass: [multiply-adds, numpy operations].

    Counted from the code: unmerged LoRA on Wq and Wv (two thin products each), one adapter per block
    (Adapter^L, behind a layer norm) or two (Adapter^H). Frozen and merged add nothing.
    """
    check_choice("variant", variant, _SHORT)
    n, D = check_positive_int("tokens", tokens), check_positive_int("d_model", d_model)
    n_layers, r = check_positive_int("n_layers", n_layers), check_positive_int("r", r)
    m = check_int("bottleneck", bottleneck, 0)
    if variant in ("frozen", "merged"):
        per_block = (0, 0)
    elif variant == "lora":
        per_block = (2 * 2 * n * D * r, 2 * LORA_OPS)
    elif variant == "adapter_l":
        per_block = (2 * n * D * m, ADAPTER_OPS + LAYERNORM_OPS)
    else:                                               # adapter_h
        per_block = (2 * 2 * n * D * m, 2 * ADAPTER_OPS)
    return n_layers * np.array(per_block, dtype=float)


@dataclass(frozen=True)
class CostModel:
    """Extra seconds = per_mac x extra multiply-adds + per_op x extra operations (a fixed cost per call)."""

    per_mac: float
    per_op: float

    def __post_init__(self) -> None:
        check_number("per_mac", self.per_mac, minimum=0, strict=False, what="seconds")
        check_number("per_op", self.per_op, minimum=0, strict=False, what="seconds")

    def parts(self, features: np.ndarray) -> tuple[float, float]:
        """(seconds from arithmetic, seconds from fixed per-operation costs); ``features`` (2,) as
        ``extra_cost_features`` returns."""
        features = _check_features("features", features)
        return self.per_mac * float(features[0]), self.per_op * float(features[1])

    def predict(self, features: np.ndarray) -> float:
        return sum(self.parts(features))


def _check_features(name: str, f) -> np.ndarray:
    f = as_array(name, f, ndim=1)
    check_shape(name, f, (2,), "= [multiply-adds, numpy operations]")
    return f


def _features_of(features: Callable, variant: str, case: CaseTiming) -> np.ndarray:
    """``features(variant, case)``, checked: what the caller's function returned must be (2,) numbers."""
    return _check_features(f"features({variant!r}, case)", features(variant, case))


def extra_seconds(case: CaseTiming, variant: str) -> float:
    """Median over rounds of t_variant - t_frozen (seconds)."""
    check_instance("case", case, CaseTiming)
    check_choice("variant", variant, case.comparison.times)
    comp = case.comparison
    return float(np.median(comp.times[variant] - comp.times[comp.baseline]))


def seconds_per_mac(n: int, d: int, rng: np.random.Generator, *, rounds: int = 15, threads: int | None = 1,
                    measure: Measure = wall_clock) -> float:
    """What one multiply-add costs in a big product on this machine: median time of (n, d) @ (d, d) / (n d d)."""
    from contextlib import nullcontext

    from lora_course.measure.timing import time_rounds

    n, d = check_positive_int("n", n), check_positive_int("d", d)
    rng = check_rng(rng)
    rounds = check_positive_int("rounds", rounds)
    if threads is not None:
        check_positive_int("threads", threads)
    check_callable("measure", measure)
    X, W = rng.normal(size=(n, d)), rng.normal(size=(d, d))
    with blas_threads(threads) if threads else nullcontext():
        t = time_rounds({"product": lambda: X @ W.T}, rounds, rng=rng, measure=measure)["product"]
    return float(np.median(t)) / (n * d * d)


def fit_cost_model(cases: list[CaseTiming], features: Callable[[str, CaseTiming], np.ndarray], per_mac: float,
                   variants: tuple[str, ...] = ("lora", "adapter_l", "adapter_h")) -> CostModel:
    """Fit the fixed cost per operation from the run, given ``per_mac`` (e.g. from ``seconds_per_mac``).

    ``per_op``: at the smallest case, the extra time left after paying ``per_mac`` for the extra multiply-adds,
    divided by the extra numpy operations (least squares over ``variants``, at least 0).
    """
    cases = _check_case_list("cases", cases, min_len=1)
    check_callable("features", features)
    per_mac = check_number("per_mac", per_mac, minimum=0, strict=False, what="seconds")
    variants = _check_variant_names(variants)
    small = min(cases, key=lambda c: c.tokens)
    rows = [(_features_of(features, v, small), extra_seconds(small, v)) for v in variants
            if v in small.comparison.times]
    if not rows:
        raise InputError(f"cases: expected timings of at least one of {variants}, got none")
    ops = np.array([f[1] for f, _ in rows])
    left = np.array([y - per_mac * f[0] for f, y in rows])
    per_op = max(0.0, float(ops @ left / (ops @ ops))) if ops.any() else 0.0
    return CostModel(float(per_mac), per_op)


def format_cost_model(model: CostModel, cases: list[CaseTiming], features: Callable[[str, CaseTiming], np.ndarray],
                      variants: tuple[str, ...] = ("lora", "adapter_l", "adapter_h")) -> str:
    """The fitted constants, then measured vs modelled extra time and the share of the fixed per-op term."""
    check_instance("model", model, CostModel)
    cases = _check_case_list("cases", cases)
    check_callable("features", features)
    variants = _check_variant_names(variants)
    rate = "-" if model.per_mac == 0 else f"{1e-9 / model.per_mac:.2g}"
    lines = [f"from this run: {1e9 * model.per_mac:.2g} ns per multiply-add in a big product "
             f"({rate} G multiply-adds/s), "
             f"{1e6 * model.per_op:.2g} µs fixed cost per numpy operation (fitted at the smallest case)",
             f"{'case':>9}  {'variant':<14}{'extra ops':>10}{'measured extra':>16}{'model':>10}"
             f"{'of which fixed cost':>21}"]
    for case in sorted(cases, key=lambda c: c.tokens):
        for v in variants:
            if v not in case.comparison.times:
                continue
            f = _features_of(features, v, case)
            arith, fixed = model.parts(f)
            share = fixed / (arith + fixed) if arith + fixed > 0 else float("nan")
            lines.append(f"{case.label:>9}  {_SHORT.get(v, v):<14}{int(f[1]):>10}"
                         f"{_ms(1e3 * extra_seconds(case, v)):>16}{_ms(1e3 * (arith + fixed)):>10}{share:>21.0%}")
    return "\n".join(lines)


# ---------------------------------------------------------------- claims
def latency_claims(cases: list[CaseTiming], arithmetic: dict[tuple[int, int], dict[str, float]] | None = None, *,
                   rng: np.random.Generator, merged_tolerance: float = 0.05) -> list[Claim]:
    """Lesson 04's claims, each decided by the intervals of this run.

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
    out = []
    for case in by_size:
        if "merged" in case.comparison.ratios:
            out.append(claim(f"merged LoRA costs what frozen costs (ratio within 1 ± {merged_tolerance:g}) "
                             f"at {case.label}", case.overhead("merged"), "within", 1.0, merged_tolerance,
                             digits=3))
    if "lora" in times:
        for case in by_size:
            out.append(claim(f"unmerged LoRA is slower than frozen (ratio above 1) at {case.label}",
                             case.overhead("lora"), "above", 1.0))
    if "adapter_h" in times and "adapter_l" in times:
        out.append(claim(f"Adapter^H costs more than Adapter^L (ratio H / L above 1) at {small.label}",
                         small.comparison.ratio_between("adapter_h", "adapter_l", rng=rng), "above", 1.0))
    if large is not small:
        for v in ("adapter_l", "adapter_h", "lora"):
            if v in times and v in large.comparison.times:
                a, b = (c.comparison.times[v] / c.comparison.times["frozen"] for c in (small, large))
                diff = bootstrap_difference(a, b, rng=rng, paired=False)
                out.append(claim(f"{_SHORT[v]}'s overhead shrinks from {small.label} to {large.label} "
                                 f"(difference of ratios above 0)", diff, "above", 0.0))
    if arithmetic and (small.batch, small.seq) in arithmetic:
        predicted = arithmetic[(small.batch, small.seq)]
        for v in ("adapter_h", "lora"):
            if v in predicted and v in times:
                out.append(claim(f"{_SHORT[v]} at {small.label} costs more than arithmetic predicts "
                                 f"(ratio above {1 + predicted[v]:.3f})", small.overhead(v), "above",
                                 1 + predicted[v]))
    return out


def latency_summary(claims: list[Claim]) -> list[str]:
    """One sentence per claim, chosen by its verdict (so no sentence can contradict the numbers)."""
    for i, c in enumerate(check_sequence("claims", claims)):
        check_instance(f"claims[{i}]", c, Claim)
    out = []
    for c in claims:
        text = c.text.split(" (")[0] + (" at " + c.text.rsplit(" at ", 1)[-1] if ") at " in c.text else "")
        out.append(c.say(f"Holds in this run: {text}.", f"Does not hold in this run: {text}.",
                         f"Not resolved at this noise level: {text}."))
    return out
