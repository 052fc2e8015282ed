"""``lora-course bench``: time frozen, merged LoRA, unmerged LoRA, Adapter^L and Adapter^H on this machine.

For every batch x sequence case the variants run interleaved in rounds (random order each round, BLAS
pinned to one thread, each call timed by the thread's CPU time unless ``--clock wall``), beside an A/A
control (a copy of frozen), until every overhead's 95 % interval is as narrow as ``--target`` or the case's
wall-clock budget is spent. It prints each variant's overhead against frozen with its interval, how sure
each case is, the verdicts on lesson 04's claims (none from fewer than ``--min-rounds`` rounds; all "too
busy to tell" when the control misses 1), and a cost model fitted from the run; the paper's Table 1
(GPT-2 medium, RTX8000) sits beside the cases that mirror it (same batch, sequences ``--seq-scale``
times longer).
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from lora_course.lessons.l04_claims import control_interval, latency_claims, latency_summary
from lora_course.lessons.l04_cost_model import (
    extra_cost_features,
    fit_cost_model,
    flops_per_token,
    format_cost_model,
    seconds_per_mac,
)
from lora_course.lessons.l04_latency import MIN_ROUNDS, format_table, measure_cases, statements
from lora_course.lessons.l04_latency import QUICK as LESSON_QUICK
from lora_course.measure.clocks import clock_name, thread_cpu_clock, wall_clock
from lora_course.measure.verdicts import format_claims, tally
from lora_course.paper import CITATION
from lora_course.toy.blocks import (
    ADAPTERS_PER_BLOCK,
    LABELS,
    StackConfig,
    bottleneck_for_budget,
    build_variants,
    scaled_budget,
)

VARIANTS = ("frozen", "merged", "lora", "adapter_l", "adapter_h")
QUICK = {"batch_sizes": [b for b, _ in LESSON_QUICK["cases"]], "seq_lens": [t for _, t in LESSON_QUICK["cases"]],
         "paired": True, "max_seconds": LESSON_QUICK["max_seconds"], "total_seconds": LESSON_QUICK["total_seconds"],
         "total_cpu_seconds": LESSON_QUICK["total_cpu_seconds"], "interleave": LESSON_QUICK["interleave"],
         "d_model": 64, "n_heads": 2, "n_layers": 2}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16, 32], metavar="B",
                        help="batch sizes (default: 1 16 32, the paper's)")
    parser.add_argument("--seq-lens", type=int, nargs="+", default=[32, 64, 128], metavar="T",
                        help="sequence lengths (default: 32 64 128, a quarter of the paper's)")
    parser.add_argument("--paired", action="store_true",
                        help="pair the i-th batch size with the i-th sequence length instead of every combination")
    parser.add_argument("--min-rounds", type=int, default=MIN_ROUNDS,
                        help=f"fewest interleaved rounds a verdict rests on (default {MIN_ROUNDS})")
    parser.add_argument("--max-rounds", type=int, default=400, help="stop adding rounds here (default 400)")
    parser.add_argument("--max-seconds", type=float, default=20.0,
                        help="timing budget per case in seconds (default 20)")
    parser.add_argument("--total-seconds", type=float, default=None,
                        help="wall-clock budget for all cases together, shared by their cost (default: none)")
    parser.add_argument("--total-cpu-seconds", type=float, default=None,
                        help="budget of the timing thread's CPU time for all cases together, shared by their cost "
                             "(default: none; --quick sets the lesson's)")
    parser.add_argument("--interleave", action="store_true",
                        help="run every case in every round (the lesson's quick default; --quick sets it)")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="cpu (default): the timing thread's CPU time, for claims about compute; "
                             "wall: elapsed time")
    parser.add_argument("--target", type=float, default=0.02,
                        help="stop when every ratio's 95 %% interval is this narrow (half-width; default 0.02)")
    parser.add_argument("--d-model", type=int, default=128, help="model width (GPT-2 medium: 1024)")
    parser.add_argument("--n-heads", type=int, default=2, help="attention heads (GPT-2 medium: 16)")
    parser.add_argument("--n-layers", type=int, default=4, help="blocks (GPT-2 medium: 24)")
    parser.add_argument("--r", type=int, default=4, help="LoRA rank on Wq and Wv")
    parser.add_argument("--seq-scale", type=int, default=4,
                        help="show the paper's row for (batch, seq x this) when it has one")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads while timing (default 1: steadier on a shared machine; 0 = leave as is)")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights, inputs and round orders")
    parser.add_argument("--quick", action="store_true",
                        help="the lesson's quick default: d_model 64, 2 blocks, cases 1x32 4x32 8x64, 10 s in all")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--backend", choices=("numpy", "torch"), default="numpy",
                        help="torch: appendix 06's PyTorch bench (needs the [torch] extra; GPT-2 medium on cuda)")
    parser.add_argument("--device", default="cpu", help="torch backend only: cpu or cuda (default cpu)")


def cases_from(batch_sizes: list[int], seq_lens: list[int], paired: bool) -> list[tuple[int, int]]:
    """(batch, seq) pairs: every combination, or zipped when ``paired``."""
    for name, values in (("--batch-sizes", batch_sizes), ("--seq-lens", seq_lens)):
        if not values or any(v < 1 for v in values):
            raise ValueError(f"{name}: expected positive integers, got {values}")
    if paired:
        if len(batch_sizes) != len(seq_lens):
            raise ValueError(f"--paired: expected as many batch sizes as sequence lengths, "
                             f"got {len(batch_sizes)} and {len(seq_lens)}")
        return list(zip(batch_sizes, seq_lens, strict=True))
    return list(itertools.product(batch_sizes, seq_lens))


def _check(args: argparse.Namespace) -> None:
    for name in ("min_rounds", "max_rounds"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')}: expected an integer >= 1, got {getattr(args, name)}")
    if args.max_rounds < args.min_rounds:
        raise ValueError(f"--max-rounds: expected >= --min-rounds = {args.min_rounds}, got {args.max_rounds}")
    if not args.max_seconds > 0:
        raise ValueError(f"--max-seconds: expected a number > 0, got {args.max_seconds}")
    if args.total_seconds is not None and not args.total_seconds > 0:
        raise ValueError(f"--total-seconds: expected a number > 0, got {args.total_seconds}")
    if args.total_cpu_seconds is not None and not args.total_cpu_seconds > 0:
        raise ValueError(f"--total-cpu-seconds: expected a number > 0, got {args.total_cpu_seconds}")
    if args.clock == "cpu" and args.threads != 1:
        raise ValueError(f"--threads: thread CPU time counts the timing thread only; expected 1 with --clock cpu, "
                         f"got {args.threads}")
    if not 0 < args.target < 1:
        raise ValueError(f"--target: expected a half-width in (0, 1), e.g. 0.02, got {args.target}")
    if args.seed < 0:
        raise ValueError(f"--seed: expected an integer >= 0, got {args.seed}")
    if args.threads < 0:
        raise ValueError(f"--threads: expected 0 (leave as is) or a positive count, got {args.threads}")


def run(args: argparse.Namespace) -> int:
    if args.backend == "torch":
        from lora_course.torch_bridge.bench_cli import run as run_torch
        return run_torch(args)
    if args.quick:
        parser = argparse.ArgumentParser()
        add_arguments(parser)
        defaults = vars(parser.parse_args([]))
        given = [key for key in QUICK if getattr(args, key) not in (defaults[key], QUICK[key])]
        if given:
            shown = ", ".join("--" + key.replace("_", "-") for key in given)
            raise ValueError(f"--quick: expected no {shown} beside it (--quick sets them), got {shown} as well")
        for key, value in QUICK.items():
            setattr(args, key, value)
    _check(args)
    cases = cases_from(args.batch_sizes, args.seq_lens, args.paired)
    config = StackConfig(args.d_model, args.n_heads, args.n_layers)
    rng = np.random.default_rng(args.seed)
    models = build_variants(config, rng, r=args.r, variants=VARIANTS)
    sizes = {v: bottleneck_for_budget(scaled_budget(config), config, v) for v in ADAPTERS_PER_BLOCK}
    print(f"stack: {config.n_layers} pre-LN blocks, d_model {config.d_model}, {config.n_heads} heads, "
          f"d_ff {config.d_ff}, float64, {config.n_params:,} parameters")
    print(f"LoRA r = {args.r} on Wq, Wv ({models['lora'].extra_params:,} numbers); adapter bottleneck "
          f"m = {sizes['adapter_l']} (Adapter^L), {sizes['adapter_h']} (Adapter^H): the paper's 11M-parameter "
          f"budget as the same share of this stack")
    bar = None
    if not args.no_progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(cases), desc="timing", unit="case")

    def progress(label: str) -> None:
        if bar is not None:
            bar.set_postfix_str(label)
            bar.update(1)

    measure = thread_cpu_clock if args.clock == "cpu" else wall_clock
    start = time.perf_counter()
    timed = measure_cases(models, cases, rng, threads=args.threads or None, target_halfwidth=args.target,
                          max_seconds=args.max_seconds, min_rounds=args.min_rounds, max_rounds=args.max_rounds,
                          seq_scale=args.seq_scale, progress=progress, measure=measure,
                          total_seconds=args.total_seconds, total_cpu_seconds=args.total_cpu_seconds,
                          interleave=args.interleave)
    if bar is not None:
        bar.close()
    print(f"{time.perf_counter() - start:.1f} s in all; clock: {clock_name(measure)} "
          f"({'claims about compute' if args.clock == 'cpu' else 'claims about waiting'}); overhead = median over "
          f"rounds of t_variant / t_frozen - 1, with a batch-means 95 % interval")
    print(format_table(timed, LABELS))
    print(f"paper column: {CITATION}, Table 1 (GPT-2 medium, same batch, sequences {args.seq_scale}x longer)")
    print("\nHow sure:\n" + statements(timed))
    control = control_interval(timed, rng=rng)
    print(f"A/A control, all cases pooled: copy / frozen = {control.as_ratio()} (99 % interval): "
          f"{'contains 1' if control.contains(1.0) else 'misses 1, so this machine was too busy to tell'}")
    for case in timed:
        iv = case.overhead("merged")
        print(f"{case.label:>9}: merged / frozen = {iv.as_ratio()}: the interval "
              f"{'contains' if iv.contains(1.0) else 'does not contain'} 1.00")

    def features(v, case):
        return extra_cost_features(v, case.tokens, config.d_model, config.n_layers, args.r, sizes.get(v, 0))

    def arithmetic(batch, seq):
        base = flops_per_token(config.d_model, config.d_ff, config.n_layers, seq)
        return {v: flops_per_token(config.d_model, config.d_ff, config.n_layers, seq, v, args.r,
                                   sizes.get(v, 0)) / base - 1 for v in ("lora", "adapter_l", "adapter_h")}

    claims = latency_claims(timed, {(b, s): arithmetic(b, s) for b, s in cases}, rng=rng)
    print(f"\nClaims ({tally(claims)}):\n{format_claims(claims)}")
    print("\n" + "\n".join(latency_summary(claims)))
    largest = max(timed, key=lambda c: c.tokens)
    model = fit_cost_model(timed, features, seconds_per_mac(largest.tokens, config.d_model, rng,
                                                            threads=args.threads or None, measure=measure))
    print("\nCost model (extra time = multiply-adds x cost each + operations x fixed cost each):")
    print(format_cost_model(model, timed, features))
    return 0
