"""The report of appendix 06's Table 1 bench: each case beside the paper's column, the verdicts, the
environment line, a Markdown table, results read back from JSON, and the findings over all cases.

The measurement itself is ``lora_course.torch_bridge.bench``.
"""

from __future__ import annotations

import datetime as _dt
import platform

import torch

from lora_course.measure.timing import Interval
from lora_course.measure.verdicts import Verdict, above, within
from lora_course.paper import CITATION, TABLE1_LATENCY_MS
from lora_course.torch_bridge.bench import LABELS, MERGED_TOLERANCE, PAPER_LABEL, VARIANTS, CaseResult
from lora_course.toy.blocks import StackConfig


def verdict_for(variant: str, iv: Interval) -> Verdict | None:
    """merged: ratio within 1 +- 3 %; unmerged LoRA and adapters: ratio above 1 (slower than base)."""
    if variant == "base":
        return None
    return within(iv, 1.0, MERGED_TOLERANCE) if variant == "merged" else above(iv, 1.0)


def format_case(res: CaseResult) -> str:
    """The case's table: ours (median ms, ratio to base, overhead with its interval, verdict) beside the paper's."""
    paper = TABLE1_LATENCY_MS.get(res.paper_case, {})
    base_paper = paper.get("Fine-Tune/LoRA")
    lines = [f"{res.dtype}, batch {res.batch} x seq {res.seq} ({res.rounds} rounds; paper's column: batch "
             f"{res.paper_case[0]} x seq {res.paper_case[1]}; adapter bottleneck m = {res.bottlenecks['adapter_l']} "
             f"(L), {res.bottlenecks['adapter_h']} (H))",
             f"  {'variant':<24}{'median':>11}  {'overhead vs base [95 % interval]':<34}{'claim':<52}"
             f"{'paper ms':>9}{'paper overhead':>16}"]
    for v in VARIANTS:
        iv = res.ratio[v]
        over = "" if v == "base" else iv.as_percent_overhead()
        verdict = verdict_for(v, iv)
        claim = "" if verdict is None else (f"= base within 3 %: {verdict}" if v == "merged" else f"slower: {verdict}")
        label = PAPER_LABEL[v]
        p_ms = paper.get(label) if label else None
        p_ms_s = f"{p_ms:9.1f}" if p_ms else f"{'-':>9}"
        p_over = f"{100 * (p_ms / base_paper - 1):+15.1f} %" if p_ms and base_paper and v not in ("base",) else \
            f"{'':>17}"
        lines.append(f"  {LABELS[v]:<24}{res.median_ms[v]:>8.2f} ms  {over:<34}{claim:<52}{p_ms_s}{p_over}")
    return "\n".join(lines)


def environment_line(device: torch.device, threads: int | None = None) -> str:
    """Device, torch and CUDA versions, the date (UTC), and whether TF32 is allowed for fp32 products."""
    if device.type == "cuda":
        name = f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    else:
        name = f"CPU {platform.processor() or platform.machine()} ({threads or torch.get_num_threads()} torch threads)"
    tf32 = torch.backends.cuda.matmul.allow_tf32
    date = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"device: {name}; torch {torch.__version__}; Python {platform.python_version()}; {date}; "
            f"fp32 products {'in TF32' if tf32 else 'in full fp32 (TF32 off)'}")


def format_report(results: list[CaseResult], device: torch.device, config: StackConfig) -> str:
    gpu = device.type == "cuda"
    head = [environment_line(device, results[0].threads if results else None),
            f"stack: {config.n_layers} GPT-2 blocks, d_model {config.d_model}, {config.n_heads} heads, d_ff "
            f"{config.d_ff}, random weights, no embeddings or head; LoRA r = 4 on Wq, Wv (alpha = r)"]
    if not gpu:
        head.append("NO GPU: these are CPU timings at REDUCED shapes (the same code); they only hint at the "
                    "paper's GPU measurement and are not GPU figures.")
    body = [format_case(res) for res in results]
    foot = [f"paper columns: {CITATION}, Table 1 (GPT-2 medium, NVIDIA RTX8000, mean of 100 trials)",
            "overhead = median over rounds of t_variant / t_base - 1, rounds interleaved in random order; "
            "95 % bootstrap interval; medians in ms per forward pass"]
    return "\n".join(head + [""] + body + [""] + foot)


def markdown_table(results: list[CaseResult]) -> str:
    """The results as a Markdown table (for docs/ and the notebook)."""
    rows = ["| dtype | batch x seq | variant | median ms | overhead vs base [95 % CI] | claim | paper ms "
            "| paper overhead |",
            "| --- | --- | --- | ---: | --- | --- | ---: | ---: |"]
    for res in results:
        paper = TABLE1_LATENCY_MS.get(res.paper_case, {})
        base_paper = paper.get("Fine-Tune/LoRA")
        for v in VARIANTS:
            iv, verdict = res.ratio[v], verdict_for(v, res.ratio[v])
            label = PAPER_LABEL[v]
            p_ms = paper.get(label) if label else None
            rows.append(f"| {res.dtype} | {res.batch} x {res.seq} | {LABELS[v]} | {res.median_ms[v]:.2f} | "
                        f"{'' if v == 'base' else iv.as_percent_overhead()} | {'' if verdict is None else verdict} | "
                        f"{'' if not p_ms else f'{p_ms:.1f}'} | "
                        f"{'' if not p_ms or v == 'base' else f'{100 * (p_ms / base_paper - 1):+.1f} %'} |")
    return "\n".join(rows)



def load_results(path) -> tuple[str, list[CaseResult]]:
    """The environment line and the cases of a JSON file written by ``benchmarks/table1_torch.py``."""
    import json
    from pathlib import Path

    data = json.loads(Path(path).read_text())
    results = []
    for rec in data["results"]:
        rec = dict(rec)
        rec["ratio"] = {v: Interval(**iv) for v, iv in rec["ratio"].items()}
        rec["paper_case"] = tuple(rec["paper_case"])
        results.append(CaseResult(**rec))
    return data["environment"], results


def findings(results: list[CaseResult]) -> list[str]:
    """Verdicts read off a set of cases: merged vs base, adapters vs base, and batch 1 against the largest batch."""
    lines = []
    worst = max(max(abs(r.ratio["merged"].lo - 1), abs(r.ratio["merged"].hi - 1)) for r in results)
    merged_ok = all(within(r.ratio["merged"], 1.0, MERGED_TOLERANCE) is Verdict.HOLDS for r in results)
    lines.append(f"merged LoRA = base within {100 * MERGED_TOLERANCE:.0f} % in every case: {merged_ok} "
                 f"(farthest interval end {100 * worst:.1f} % from 1)")
    for v in ("adapter_l", "adapter_h", "lora"):
        slower = all(above(r.ratio[v], 1.0) is Verdict.HOLDS for r in results)
        lines.append(f"{LABELS[v]} slower than base in every case: {slower}")
    for dtype in sorted({r.dtype for r in results}, reverse=True):
        by_case = {(r.batch, r.seq): r for r in results if r.dtype == dtype}
        small, large = by_case.get(min(by_case)), by_case.get(max(by_case))
        if small is None or small is large:
            continue
        for v in ("adapter_l", "adapter_h"):
            bigger = small.ratio[v].lo > large.ratio[v].hi
            lines.append(f"{dtype}: {LABELS[v]}'s overhead larger at batch {small.batch} x {small.seq} than at "
                         f"{large.batch} x {large.seq} (intervals apart): {bigger}")
    return lines
