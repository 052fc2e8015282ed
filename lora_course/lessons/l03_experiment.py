"""Lesson 03's experiment as a whole: every planned run of a setting, and the tables and analyses drawn from them.

The task, the settings and the single training runs are in ``lora_course.lessons.l03_targets``; what the
runs show is decided in ``l03_findings`` and drawn in ``l03_plots``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lora_course.analysis import amplification_factor, subspace_similarity_grid
from lora_course.lessons.l03_targets import (
    BUDGET_CONFIGS,
    RANK_TARGETS,
    Base,
    Run,
    Setting,
    _check_targets,
    adapt,
    config_name,
    planned_runs,
    pretrain,
)
from lora_course.paper import TABLE5_WEIGHT_TYPES, TABLE6_QV, TABLE6_RANKS
from lora_course.validation import InputError, check_callable, check_instance, check_int


@dataclass
class Experiment:
    """All runs of one setting, with the tables and analyses drawn from them."""

    setting: Setting
    base: Base
    runs: list[Run]

    def select(self, method: str, targets: tuple[str, ...] = (), r: int | None = None) -> list[Run]:
        """The runs of one configuration (one per seed)."""
        if not isinstance(method, str) or method not in ("lora", "head", "full"):
            raise InputError(f"method: expected 'lora', 'head' or 'full', got {method!r}")
        _check_targets(targets, allow_empty=True)
        if r is not None and (isinstance(r, bool) or not isinstance(r, int) or r < 1):
            raise InputError(f"r: expected a rank (an integer >= 1) or None, got {r!r}")
        return [x for x in self.runs if (x.method, x.targets, x.r) == (method, tuple(targets), r)]

    def stats(self, method: str, targets: tuple[str, ...] = (), r: int | None = None) -> tuple[float, float]:
        """Mean and standard deviation (over seeds) of test accuracy in percent."""
        acc = 100 * np.array([x.accuracy for x in self.select(method, targets, r)])
        if not acc.size:
            culprit = "r" if method == "lora" else "method"
            raise InputError(f"{culprit}: no run of {method} {config_name(targets, r)} in this experiment")
        return float(acc.mean()), float(acc.std())

    def measured(self) -> dict[str, tuple[float, float]]:
        """config_name -> (mean %, std %) for every LoRA configuration that was run."""
        keys = dict.fromkeys((x.targets, x.r) for x in self.runs if x.method == "lora")
        return {config_name(t, r): self.stats("lora", t, r) for t, r in keys}

    def table5(self) -> str:
        """The paper's Table 5 rows with our accuracy beside the paper's WikiSQL and MultiNLI."""
        n = len(self.setting.seeds)
        lines = [f"{'Weight type':<16}{'r':>3}{'# LoRA params':>15}{f'ours (mean ± sd, {n} seeds)':>30}"
                 f"{'paper WikiSQL':>15}{'paper MultiNLI':>16}"]
        for targets, r in BUDGET_CONFIGS:
            mean, sd = self.stats("lora", targets, r)
            run = self.select("lora", targets, r)[0]
            wiki, mnli = TABLE5_WEIGHT_TYPES[(targets, r)]
            lines.append(f"{config_name(targets):<16}{r:>3}{run.n_lora:>15,}{f'{mean:5.1f} ± {sd:4.1f}':>30}"
                         f"{wiki:>15.1f}{mnli:>16.1f}")
        return "\n".join(lines)

    def table6(self) -> str:
        """The paper's Table 6: {q, v} at each rank; our accuracy under the paper's two rows."""
        ranks = self.setting.ranks
        head = f"{'Wq,Wv':<22}" + "".join(f"{f'r={r}':>14}" for r in ranks)
        ours = [self.stats("lora", RANK_TARGETS, r) for r in ranks]
        lines = [head, f"{'ours (mean ± sd)':<22}" + "".join(f"{f'{m:5.1f} ± {s:4.1f}':>14}" for m, s in ours)]
        if tuple(ranks) == TABLE6_RANKS:
            for col, task_name in enumerate(("WikiSQL", "MultiNLI")):
                lines.append(f"{'paper ' + task_name:<22}" + "".join(f"{TABLE6_QV[r][col]:>14.1f}" for r in ranks))
        return "\n".join(lines)

    def baselines(self) -> str:
        """Head only, full fine-tuning and the pre-trained model used as is."""
        lines = [f"{'method':<26}{'trainable params':>18}{'accuracy % (mean ± sd)':>26}"]
        for method, label in (("head", "head only"), ("full", "full fine-tuning")):
            mean, sd = self.stats(method)
            lines.append(f"{label:<26}{self.select(method)[0].n_trainable:>18,}{f'{mean:5.1f} ± {sd:4.1f}':>26}")
        lines.append(f"{'base, no adaptation':<26}{0:>18,}{100 * self.base.zero_shot_accuracy:>20.1f}")
        return "\n".join(lines)

    def _check_seed_layer(self, seed, layer) -> int:
        seed = self.setting.seeds[0] if seed is None else seed
        if isinstance(seed, bool) or not isinstance(seed, int) or seed not in self.setting.seeds:
            raise InputError(f"seed: expected one of the experiment's seeds {self.setting.seeds}, got {seed!r}")
        check_int("layer", layer, 0, self.setting.n_layers - 1)
        return seed

    def subspace_grids(self, seed: int | None = None, layer: int = 0, r_small: int = 8,
                       r_large: int = 64) -> dict[str, np.ndarray]:
        """phi(A_small, A_large, i, j) grids (r_small, r_large) for q and v, from the {q, v} runs of one seed."""
        seed = self._check_seed_layer(seed, layer)
        for name, r in (("r_small", r_small), ("r_large", r_large)):
            if isinstance(r, bool) or not isinstance(r, int) or r not in self.setting.ranks:
                raise InputError(f"{name}: expected one of the swept ranks {self.setting.ranks}, got {r!r}")
        small = [x for x in self.select("lora", RANK_TARGETS, r_small) if x.seed == seed][0]
        large = [x for x in self.select("lora", RANK_TARGETS, r_large) if x.seed == seed][0]
        return {t: subspace_similarity_grid(small.adapters[f"l{layer}.{t}.A"], large.adapters[f"l{layer}.{t}.A"])
                for t in RANK_TARGETS}

    def amplification(self, r: int, seed: int | None = None, layer: int = 0) -> dict[str, float]:
        """Section 7.3 for Delta W_q of the {q, v} run at rank r.

        ``proj_*`` is ||U^T W_q V^T||_F with U, V the top-r singular directions of Delta W_q, of W_q itself,
        or of a random Gaussian matrix; ``factor`` = ||Delta W_q||_F / proj_dW (the amplification factor).
        """
        seed = self._check_seed_layer(seed, layer)
        if isinstance(r, bool) or not isinstance(r, int) or not self.select("lora", RANK_TARGETS, r):
            raise InputError(f"r: expected one of the swept ranks {self.setting.ranks}, got {r!r}")
        run = [x for x in self.select("lora", RANK_TARGETS, r) if x.seed == seed][0]
        dW = run.delta(layer, "q")
        W = np.asarray(self.base.params[f"l{layer}.Wq"])
        noise = np.random.default_rng([self.setting.base_seed, seed, r]).normal(size=dW.shape)
        factor = amplification_factor(dW, W, r)
        return {"r": r, "dW_norm": float(np.linalg.norm(dW)), "W_norm": float(np.linalg.norm(W)), "factor": factor,
                "proj_dW": float(np.linalg.norm(dW)) / factor, "proj_W": _projection_norm(W, W, r),
                "proj_random": _projection_norm(noise, W, r)}


def _projection_norm(M: np.ndarray, W: np.ndarray, r: int) -> float:
    """||U^T W V^T||_F with U (d, r), V^T (r, k) the top-r singular vectors of M."""
    U, _, Vt = np.linalg.svd(M, full_matrices=False)
    return float(np.linalg.norm(U[:, :r].T @ W @ Vt[:r].T))


def run_experiment(setting: Setting, progress: Callable[[str], None] | None = None) -> Experiment:
    """Pre-train once, then every planned run for every seed; ``progress(label)`` is called after each run."""
    check_instance("setting", setting, Setting)
    if progress is not None:
        check_callable("progress", progress, ("label",))
    base = pretrain(setting)
    if progress:
        progress("pre-training")
    runs = []
    for seed in setting.seeds:
        for method, targets, r in planned_runs(setting):
            runs.append(adapt(setting, method, targets, r, seed))
            if progress:
                progress(f"seed {seed}: {runs[-1].name}")
    return Experiment(setting, base, runs)
