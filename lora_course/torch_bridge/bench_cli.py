"""``lora-course bench --backend torch``: measure the paper's Table 1 with torch, then print its report.

The measurement (``lora_course.torch_bridge.bench``) knows nothing of its report; the report
(``lora_course.torch_bridge.bench_report``) reads the measurement's records; this module joins the two.
"""

from __future__ import annotations

import argparse
import time

import torch

from lora_course.torch_bridge.bench import CPU_CONFIG, GPT2_MEDIUM_CONFIG, table1
from lora_course.torch_bridge.bench_report import format_report
from lora_course.toy.blocks import StackConfig


def run(args: argparse.Namespace) -> int:
    """``lora-course bench --backend torch [--device cuda]``."""
    device = torch.device(getattr(args, "device", "cpu") or "cpu")
    threads = getattr(args, "threads", 1)
    quick = getattr(args, "quick", False)
    kwargs = {"max_seconds": 0.5, "min_rounds": 5, "max_rounds": 20} if quick else {}
    config = StackConfig(32, 2, 2) if quick and device.type == "cpu" else None
    cases = ((2, 16), (1, 8), (1, 4)) if quick and device.type == "cpu" else None
    start = time.perf_counter()
    bar = None
    if not getattr(args, "no_progress", True):
        from tqdm.auto import tqdm
        bar = tqdm(total=6, desc="timing", unit="case")
    results = table1(device, config=config, cases=cases, seed=getattr(args, "seed", 0), r=getattr(args, "r", 4),
                     cpu_threads=threads,
                     progress=(lambda label: (bar.set_postfix_str(label), bar.update(1))) if bar else None, **kwargs)
    if bar is not None:
        bar.close()
    used = config or (GPT2_MEDIUM_CONFIG if device.type == "cuda" else CPU_CONFIG)
    print(format_report(results, device, used))
    print(f"{time.perf_counter() - start:.1f} s in all")
    return 0
