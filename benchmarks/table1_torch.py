"""Appendix 06's Table 1 with PyTorch, writing the report, a Markdown table and JSON (for docs/table1_gpu.md).

Usage: python benchmarks/table1_torch.py --device cuda --out DIR   (on the GPU machine)
       python benchmarks/table1_torch.py --device cpu --out DIR    (reduced shapes; CPU figures, labelled so)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a source tree without install

from lora_course.torch_bridge.bench import CPU_CONFIG, GPT2_MEDIUM_CONFIG, table1  # noqa: E402
from lora_course.torch_bridge.bench_report import environment_line, format_report, markdown_table  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-seconds", type=float, default=None, help="timing budget per case")
    args = parser.parse_args()
    device = torch.device(args.device)
    args.out.mkdir(parents=True, exist_ok=True)
    results = table1(device, max_seconds=args.max_seconds,
                     progress=lambda label: print(f"done: {label}", flush=True))
    config = GPT2_MEDIUM_CONFIG if device.type == "cuda" else CPU_CONFIG
    report = format_report(results, device, config)
    (args.out / "table1_report.txt").write_text(report + "\n")
    (args.out / "table1.md").write_text(environment_line(device) + "\n\n" + markdown_table(results) + "\n")
    records = []
    for res in results:
        rec = dataclasses.asdict(res)
        rec["ratio"] = {v: dataclasses.asdict(iv) for v, iv in res.ratio.items()}
        records.append(rec)
    (args.out / "table1.json").write_text(json.dumps({"environment": environment_line(device),
                                                      "results": records}, indent=1))
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
