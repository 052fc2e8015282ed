"""Lesson 07's summary table: per variant, what it trains, what it costs at inference, what its frozen base
weighs, this run's verdict, and what its paper reports (cited, as data; never produced here).

Sizes are computed for one (d, k) weight with rank r; the base is stored in bf16 (2 bytes) except QLoRA's,
which is NF4 with double quantisation (``lora_course.nf4.bits_per_parameter``).
"""

from __future__ import annotations

from typing import NamedTuple

from lora_course.nf4 import bits_per_parameter
from lora_course.validation import (
    InputError,
    check_instance,
    check_mapping,
    check_positive_int,
    check_rank,
    check_sequence,
    check_text,
)

# What each paper reports, with where (read from the papers; the lesson prints them beside its own verdicts).
PAPER_REPORTS = {
    "LoRA": "Hu et al. 2021 (arXiv:2106.09685), Table 4: GPT-3 175B with 4.7M trainable parameters, results on "
            "par with full fine-tuning",
    "rsLoRA": "Kalajdzievski 2023 (arXiv:2312.03732), Section 3 (Theorem 3.2) and Section 4: with alpha / r "
              "larger ranks learn no better; alpha / sqrt(r) lets a larger rank buy a lower loss",
    "DoRA": "Liu et al. 2024 (arXiv:2402.09353), Section 5, Table 1: above LoRA on commonsense reasoning "
            "(LLaMA-7B/13B) at about the same parameter count; Section 4.3: norm held constant in backward",
    "PiSSA": "Meng et al. 2024 (arXiv:2404.02948), abstract and Section 5: converges faster than LoRA; "
             "Mistral-7B on GSM8K 72.86 % vs LoRA's 67.7 %",
    "LoRA+": "Hayou et al. 2024 (arXiv:2402.12354), abstract and Section 4: 1-2 % better results and up to "
             "about 2x faster fine-tuning at LoRA's cost; ratio 2^4 suggested",
    "QLoRA (NF4 base)": "Dettmers et al. 2023 (arXiv:2305.14314), Section 3: double quantisation saves about "
                        "0.37 bits per parameter; a 65B model fine-tuned on one 48 GB GPU",
}
MERGEABLE = {
    "LoRA": "merges: W0 + s B A (lesson 04), no extra cost",
    "rsLoRA": "merges like LoRA (only s differs), no extra cost",
    "DoRA": "merges: m V / ||V||_row is one (d, k) matrix; unmerged it adds a norm per step",
    "PiSSA": "merges: W_res + s B A; the adapter belongs to W_res, not W0",
    "LoRA+": "merges like LoRA (only the optimizer differs), no extra cost",
    "QLoRA (NF4 base)": "merging needs the base dequantised: the merged weight is no longer 4-bit",
}


class SummaryRow(NamedTuple):
    variant: str
    trainable: int
    inference: str
    base_bytes: float
    verdict: str
    paper: str


def summary_rows(verdicts: dict[str, str], d: int = 4096, k: int = 4096, r: int = 16) -> list[SummaryRow]:
    """One row per variant (``verdicts``: variant -> this run's verdicts; 'LoRA' may be absent)."""
    verdicts = check_mapping("verdicts", verdicts, [v for v in PAPER_REPORTS if v != "LoRA"])
    unknown = sorted(set(verdicts) - set(PAPER_REPORTS), key=str)
    if unknown:
        raise InputError(f"verdicts: expected keys among {list(PAPER_REPORTS)}, got unknown {unknown}")
    for variant, verdict in verdicts.items():
        check_text(f"verdicts[{variant!r}]", verdict)
    d, k = check_positive_int("d", d), check_positive_int("k", k)
    r = check_rank(r, d, k)
    lora = r * (d + k)
    trainable = {"DoRA": lora + d}
    nf4_bytes = bits_per_parameter(64, double=True) / 8 * d * k
    return [SummaryRow(v, trainable.get(v, lora), MERGEABLE[v], nf4_bytes if v.startswith("QLoRA") else 2.0 * d * k,
                       str(verdicts.get(v, "(lessons 02-04)")), PAPER_REPORTS[v]) for v in PAPER_REPORTS]


def format_summary(rows: list[SummaryRow]) -> str:
    """The table as aligned text: the measured columns, then each paper's report on its own line."""
    rows = [check_instance(f"rows[{i}]", row, SummaryRow) for i, row in enumerate(check_sequence("rows", rows))]
    head = f"{'variant':17s} {'trainable':>10s} {'base MB':>8s}  {'inference':78s} this run's toy verdict(s)"
    lines = [head, "-" * len(head)]
    for row in rows:
        lines.append(f"{row.variant:17s} {row.trainable:>10,d} {row.base_bytes / 1e6:>8.1f}  {row.inference:78s} "
                     f"{row.verdict}")
    lines.append("")
    lines += [f"{row.variant}: {row.paper}" for row in rows]
    return "\n".join(lines)
