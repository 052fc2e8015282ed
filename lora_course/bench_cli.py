"""``lora-course bench``: time frozen (= merged LoRA), unmerged LoRA, Adapter^L and Adapter^H on this machine.

Prints lesson 04's latency table (median, IQR and overhead over frozen for every batch x sequence
length) with the paper's Table 1 (GPT-2 medium, RTX8000) beside the cases that mirror it, i.e. the
paper's batch size with a sequence ``--seq-scale`` times shorter.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from .blocks import ADAPTERS_PER_BLOCK, LABELS, StackConfig, bottleneck_for_budget, build_variants, scaled_budget
from .latency import blas_threads, format_table, measure_grid
from .paper import CITATION

QUICK = {"batch_sizes": [1, 16, 32], "seq_lens": [32, 64, 128], "paired": True, "repeats": 5,
         "d_model": 64, "n_heads": 2, "n_layers": 4}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16, 32], metavar="B",
                        help="batch sizes (default: 1 16 32, the paper's)")
    parser.add_argument("--seq-lens", type=int, nargs="+", default=[32, 64, 128], metavar="T",
                        help="sequence lengths (default: 32 64 128, a quarter of the paper's)")
    parser.add_argument("--paired", action="store_true",
                        help="pair the i-th batch size with the i-th sequence length instead of every combination")
    parser.add_argument("--repeats", type=int, default=15, help="timed forward passes per variant and case")
    parser.add_argument("--warmup", type=int, default=2, help="untimed passes first")
    parser.add_argument("--d-model", type=int, default=128, help="model width (GPT-2 medium: 1024)")
    parser.add_argument("--n-heads", type=int, default=2, help="attention heads (GPT-2 medium: 16)")
    parser.add_argument("--n-layers", type=int, default=4, help="blocks (GPT-2 medium: 24)")
    parser.add_argument("--r", type=int, default=4, help="LoRA rank on Wq and Wv")
    parser.add_argument("--seq-scale", type=int, default=4,
                        help="show the paper's row for (batch, seq x this) when it has one")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads while timing (default 1: steadier on a shared machine; 0 = leave as is)")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights and inputs")
    parser.add_argument("--quick", action="store_true",
                        help="the notebook's settings: d_model 64, cases 1x32 16x64 32x128, 5 repeats")
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


def run(args: argparse.Namespace) -> int:
    if args.backend == "torch":
        from lora_course.torch_bridge.bench import run as run_torch
        return run_torch(args)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    if args.repeats < 1:
        raise ValueError(f"--repeats: expected an integer >= 1, got {args.repeats}")
    if args.threads < 0:
        raise ValueError(f"--threads: expected 0 (leave as is) or a positive count, got {args.threads}")
    cases = cases_from(args.batch_sizes, args.seq_lens, args.paired)
    config = StackConfig(args.d_model, args.n_heads, args.n_layers)
    rng = np.random.default_rng(args.seed)
    models = build_variants(config, rng, r=args.r)
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

    start = time.perf_counter()
    if args.threads:
        with blas_threads(args.threads) as threads:
            rows = measure_grid(models, cases, args.repeats, rng, args.warmup, args.seq_scale, progress)
    else:
        threads = None
        rows = measure_grid(models, cases, args.repeats, rng, args.warmup, args.seq_scale, progress)
    if bar is not None:
        bar.close()
    print(f"{args.repeats} interleaved repeats per case, BLAS threads: {threads or 'as configured'}, "
          f"{time.perf_counter() - start:.1f} s in all")
    print(format_table(rows, LABELS))
    print(f"paper columns: {CITATION}, Table 1 (GPT-2 medium, same batch, sequences {args.seq_scale}x longer)")
    print("overhead = median over repeats of t_variant / t_frozen - 1 (paired runs); IQR = interquartile range")
    return 0
