"""What lesson 03's widget shows for a choice of adapted weights and rank (pure functions, fast)."""

from __future__ import annotations

import html

from lora_course.lowrank import lora_param_count
from lora_course.paper import GPT3
from lora_course.toy.attention import TARGETS
from lora_course.validation import InputError, check_mapping, check_number, check_positive_int, check_sequence

PAPER_BUDGET = lora_param_count(GPT3["n_layers"], GPT3["d_model"], 8)   # one weight type at r = 8: 18,874,368


def _check_measured(measured) -> None:
    """``measured``: configuration name -> (mean %, sd %), two finite numbers."""
    for name, value in check_mapping("measured", measured).items():
        if not isinstance(name, str):
            raise InputError(f"measured: expected configuration names (strings) as keys, got {name!r}")
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise InputError(f"measured[{name!r}]: expected (mean %, sd %), got {value!r:.60}")
        check_number(f"measured[{name!r}][0]", value[0], what="a mean accuracy in %")
        check_number(f"measured[{name!r}][1]", value[1], minimum=0, strict=False, what="a standard deviation")


def budget_report(targets: tuple[str, ...], r: int, measured: dict[str, tuple[float, float]] | None = None,
                  toy_d_model: int = 64, toy_layers: int = 1) -> dict:
    """Parameter counts of LoRA on ``targets`` at rank ``r`` for GPT-3 and for the toy model, the share of the
    paper's 18.9M budget, and this configuration's measured accuracy (mean %, sd %) if ``measured`` has it."""
    from lora_course.lessons.l03_targets import config_name

    targets = tuple(check_sequence("targets", targets))
    bad = [t for t in targets if not isinstance(t, str) or t not in TARGETS]
    if bad or len(set(targets)) != len(targets):
        raise InputError(f"targets: expected distinct names from {TARGETS}, got {tuple(targets)}")
    toy_d_model = check_positive_int("toy_d_model", toy_d_model)
    toy_layers = check_positive_int("toy_layers", toy_layers)
    if measured is not None:
        _check_measured(measured)
    r = check_positive_int("r", r, min(toy_d_model, GPT3["d_model"]))
    targets = tuple(t for t in TARGETS if t in targets)          # canonical order q, k, v, o
    if not targets:
        return {"targets": (), "r": r, "name": "no LoRA", "gpt3_params": 0, "budget_share": 0.0,
                "toy_params": 0, "measured": None}
    gpt3 = lora_param_count(GPT3["n_layers"] * len(targets), GPT3["d_model"], r)
    name = config_name(targets, r)
    return {"targets": targets, "r": r, "name": name, "gpt3_params": gpt3, "budget_share": gpt3 / PAPER_BUDGET,
            "toy_params": lora_param_count(toy_layers * len(targets), toy_d_model, r),
            "measured": (measured or {}).get(name)}


def budget_html(report: dict, measured: dict[str, tuple[float, float]] | None = None) -> str:
    """The report as HTML, followed by every measured configuration with the chosen one highlighted."""
    check_mapping("report", report, ("targets", "r", "name", "gpt3_params", "budget_share", "toy_params", "measured"))
    for key in ("gpt3_params", "budget_share", "toy_params"):
        check_number(f"report[{key!r}]", report[key], minimum=0, strict=False)
    if not isinstance(report["name"], str):
        raise InputError(f"report['name']: expected the configuration's name, got {report['name']!r:.60}")
    if report["measured"] is not None:
        _check_measured({report["name"]: report["measured"]})
    if measured is not None:
        _check_measured(measured)
    rows = []
    for name, (mean, sd) in (measured or {}).items():
        style = ' style="background:#E69F00;font-weight:bold"' if name == report["name"] else ""
        rows.append(f"<tr{style}><td>{html.escape(name)}</td><td>{mean:.1f} ± {sd:.1f}</td></tr>")
    table = ("<table><tr><th>configuration</th><th>toy accuracy % (mean ± sd)</th></tr>" + "".join(rows) + "</table>"
             if rows else "")
    box = '<p style="min-height:2.6em;margin:4px 0">'     # the same height for every answer: the table never moves
    if not report["targets"]:
        return box + "Tick at least one of q, k, v, o.</p>" + box + "</p>" + table
    share = report["budget_share"]
    verdict = "on budget" if abs(share - 1) < 1e-12 else ("over budget" if share > 1 else "under budget")
    lines = [f"{box}<b>{html.escape(report['name'])}</b>: GPT-3 175B would train {report['gpt3_params']:,} LoRA "
             f"parameters = {share:.2f}× the paper's {PAPER_BUDGET:,} budget (<b>{verdict}</b>); "
             f"the toy model trains {report['toy_params']:,}.</p>"]
    if report["measured"] is None:
        lines.append(f"{box}This configuration was not run in this notebook.</p>")
    else:
        mean, sd = report["measured"]
        lines.append(f"{box}Measured in this notebook: toy accuracy {mean:.1f} ± {sd:.1f} % (highlighted below).</p>")
    return "\n".join(lines) + table
