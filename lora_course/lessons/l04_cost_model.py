"""Lesson 04's cost model: arithmetic per token, and the measured extra time explained by multiply-adds,
elements passed through element-wise operations and a fixed cost per operation (``fit_cost_model``).

The timings it explains come from ``lora_course.lessons.l04_latency``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lora_course.lessons.l04_latency import _SHORT, CaseTiming, _check_case_list, _check_variant_names, _ms
from lora_course.measure.blas_threads import blas_threads
from lora_course.measure.clocks import Measure, thread_cpu_clock
from lora_course.validation import (
    InputError,
    as_array,
    check_callable,
    check_choice,
    check_instance,
    check_int,
    check_number,
    check_positive_int,
    check_rng,
    check_shape,
)


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
                    measure: Measure = thread_cpu_clock) -> float:
    """What one multiply-add costs in a big product on this machine: median time of (n, d) @ (d, d) / (n d d),
    by the thread's CPU time (``thread_cpu_clock`` needs ``threads=1``) unless ``measure`` says otherwise."""
    from contextlib import nullcontext

    from lora_course.measure.timing import time_rounds

    n, d = check_positive_int("n", n), check_positive_int("d", d)
    rng = check_rng(rng)
    rounds = check_positive_int("rounds", rounds)
    if threads is not None:
        check_positive_int("threads", threads)
    check_callable("measure", measure, (len,))
    if measure is thread_cpu_clock and threads != 1:
        raise InputError(f"threads: thread CPU time counts this thread only; expected threads=1, got {threads}")
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
    check_callable("features", features, ("lora", None))
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
    check_callable("features", features, ("lora", None))
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
