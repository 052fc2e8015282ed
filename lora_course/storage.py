"""Storage of per-task fine-tunes: full copies versus one base plus LoRA deltas."""

from __future__ import annotations

from dataclasses import dataclass

from .lowrank import lora_param_count
from .validation import check_positive_int


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
    if n_params <= 0:
        raise ValueError(f"n_params: expected a positive parameter count, got {n_params}")
    n_tasks = check_positive_int("n_tasks", n_tasks)
    n_layers = check_positive_int("n_layers", n_layers)
    matrices_per_layer = check_positive_int("matrices_per_layer", matrices_per_layer)
    lora_params = lora_param_count(n_layers * matrices_per_layer, d_model, r)
    full = n_params * bytes_per_param
    lora = lora_params * bytes_per_param
    return StorageCosts(full, lora, n_tasks * full, full + n_tasks * lora, lora_params)


def human_bytes(n: float) -> str:
    """Decimal units as the paper uses them: 350 GB, 37.7 MB."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1000
    raise AssertionError("unreachable")
