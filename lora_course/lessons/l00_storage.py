"""Storage of per-task fine-tunes: full copies versus one base plus LoRA deltas."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from lora_course.lowrank import lora_param_count
from lora_course.paper import BERT_BASE, GPT2_MEDIUM, GPT3
from lora_course.support.units import human_bytes, human_count
from lora_course.validation import InputError, check_instance, check_number, check_positive_int, check_sequence


@dataclass(frozen=True)
class StorageCosts:
    """Bytes to store ``n_tasks`` fine-tuned variants of one model."""

    full_per_task: float      # one full copy
    lora_per_task: float      # one set of A, B for every adapted matrix
    full_total: float         # n_tasks full copies
    lora_total: float         # one base + n_tasks LoRA sets
    lora_params_per_task: int

    @property
    def saving(self) -> float:
        """full_total / lora_total."""
        return self.full_total / self.lora_total


def storage_costs(n_params: float, n_tasks: int, d_model: int, n_layers: int, matrices_per_layer: int,
                  r: int, bytes_per_param: int = 2) -> StorageCosts:
    """Storage for ``n_tasks`` tasks: full fine-tunes vs a shared base plus LoRA on
    ``matrices_per_layer`` (d_model, d_model) matrices in each of ``n_layers`` layers.
    """
    check_number("n_params", n_params, what="a positive parameter count")
    if n_params <= 0:
        raise InputError(f"n_params: expected a positive parameter count, got {n_params}")
    bytes_per_param = check_positive_int("bytes_per_param", bytes_per_param)
    n_tasks = check_positive_int("n_tasks", n_tasks)
    n_layers = check_positive_int("n_layers", n_layers)
    matrices_per_layer = check_positive_int("matrices_per_layer", matrices_per_layer)
    lora_params = lora_param_count(n_layers * matrices_per_layer, d_model, r)
    full = n_params * bytes_per_param
    lora = lora_params * bytes_per_param
    return StorageCosts(full, lora, n_tasks * full, full + n_tasks * lora, lora_params)


# Shapes of a few models for the calculator. GPT-3, GPT-2 medium and BERT-base come from lora_course.paper;
# GPT-2 large (Radford et al., 2019) is the other GPT-2 size the LoRA paper fine-tunes.
MODEL_PRESETS: dict[str, dict[str, float]] = {
    "BERT-base (110M)": {"n_params": BERT_BASE["n_params"], "d_model": BERT_BASE["d_model"],
                         "n_layers": BERT_BASE["n_layers"]},
    "GPT-2 medium (345M)": {"n_params": GPT2_MEDIUM["n_params"], "d_model": GPT2_MEDIUM["d_model"],
                            "n_layers": GPT2_MEDIUM["n_layers"]},
    "GPT-2 large (774M)": {"n_params": 774e6, "d_model": 1280, "n_layers": 36},
    "GPT-3 (175B)": {"n_params": GPT3["n_params"], "d_model": GPT3["d_model"], "n_layers": GPT3["n_layers"]},
}


class StorageRow(NamedTuple):
    """One way of serving ``n_tasks`` variants: what each task adds and what everything weighs."""

    method: str
    params_per_task: float    # numbers stored for one extra task
    bytes_per_task: float
    total_bytes: float        # everything on disk for all tasks (the shared base counted once)


def storage_table(n_params: float, n_tasks: int, d_model: int, n_layers: int, matrices_per_layer: int,
                  r: int, bytes_per_param: int = 2, adapter_params: float | None = None) -> list[StorageRow]:
    """Rows for full fine-tuning, (optionally) adapters with ``adapter_params`` per task, and LoRA."""
    costs = storage_costs(n_params, n_tasks, d_model, n_layers, matrices_per_layer, r, bytes_per_param)
    rows = [StorageRow("Full fine-tune", float(n_params), costs.full_per_task, costs.full_total)]
    if adapter_params is not None:
        check_number("adapter_params", adapter_params, what="a positive parameter count")
        if adapter_params <= 0:
            raise InputError(f"adapter_params: expected a positive parameter count, got {adapter_params}")
        per_task = adapter_params * bytes_per_param
        rows.append(StorageRow("Adapters", float(adapter_params), per_task, costs.full_per_task + n_tasks * per_task))
    rows.append(StorageRow(f"LoRA (r={r})", float(costs.lora_params_per_task), costs.lora_per_task,
                           costs.lora_total))
    return rows


def calculator_rows(model: str, n_tasks: int, r: int, matrices_per_layer: int) -> list[StorageRow]:
    """The storage widget's answer for a preset ``model`` (a key of MODEL_PRESETS), in fp16."""
    if not isinstance(model, str) or model not in MODEL_PRESETS:
        raise InputError(f"model: expected one of {list(MODEL_PRESETS)}, got {model!r}")
    shape = MODEL_PRESETS[model]
    return storage_table(shape["n_params"], n_tasks, int(shape["d_model"]), int(shape["n_layers"]),
                         matrices_per_layer, r)


def format_storage_table(rows: list[StorageRow]) -> str:
    """A fixed-width text table of ``rows`` with human-readable units."""
    for i, row in enumerate(check_sequence("rows", rows)):
        check_instance(f"rows[{i}]", row, StorageRow)
    lines = [f"{'method':<16} {'params/task':>12} {'per task':>10} {'all tasks':>10}"]
    for row in rows:
        lines.append(f"{row.method:<16} {human_count(row.params_per_task):>12} "
                     f"{human_bytes(row.bytes_per_task):>10} {human_bytes(row.total_bytes):>10}")
    return "\n".join(lines)
