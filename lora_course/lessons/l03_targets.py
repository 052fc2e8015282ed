"""Lesson 03's experiment: which attention weights to adapt, and at what rank, on a toy Transformer.

A toy version of the paper's Tables 5 and 6 (Hu et al., 2021, section 7.1) and of its Figure 2 and
section 7.3 analyses:

1. Pre-train a small Transformer (``lora_course.toy.transformer``) on a *pointer* task: the sequence holds
   ``seq_len - 1`` content tokens and ends with a pointer token naming a position p; the label is the
   content token at position p.
2. Freeze it and adapt it to a shifted task: the label is now the *group* (one of ``n_groups``, a fixed
   random partition of the content tokens) of the token one place to the right of p (wrapping around).
   So the model must move its attention by one position and read a coarser label.
3. Adapt with LoRA on subsets of {q, k, v, o} at a fixed parameter budget, sweep r for {q, v}, and
   compare with full fine-tuning and with training the new head alone. Every run trains a new head.

Everything is generated from explicit seeds; pre-training is done once per setting and cached.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from lora_course.analysis import amplification_factor, subspace_similarity_grid
from lora_course.lowrank import lora_param_count
from lora_course.merge import merged_delta
from lora_course.paper import TABLE5_WEIGHT_TYPES, TABLE6_QV, TABLE6_RANKS
from lora_course.toy.adam import Adam
from lora_course.toy.transformer import (
    ToyConfig,
    accuracy,
    init_adapters,
    init_params,
    model_backward,
    model_forward,
    n_params,
    softmax_cross_entropy,
)
from lora_course.validation import (
    InputError,
    check_callable,
    check_instance,
    check_int,
    check_mapping,
    check_number,
    check_positive_int,
    check_rng,
    check_sequence,
)

BUDGET_CONFIGS: tuple[tuple[tuple[str, ...], int], ...] = tuple(TABLE5_WEIGHT_TYPES)  # ((targets), r), paper order
RANK_TARGETS = ("q", "v")


def config_name(targets: tuple[str, ...], r: int | None = None) -> str:
    """'Wq,Wv r=4' for LoRA; 'head only' for an empty target list."""
    _check_targets(targets, allow_empty=True)
    if r is not None:
        check_positive_int("r", r)
    if not targets:
        return "head only"
    return ",".join("W" + t for t in targets) + ("" if r is None else f" r={r}")


def _check_targets(targets, allow_empty: bool = False) -> tuple[str, ...]:
    targets = tuple(check_sequence("targets", targets))
    bad = [t for t in targets if not isinstance(t, str) or t not in ("q", "k", "v", "o")]
    if bad or len(set(targets)) != len(targets) or (not targets and not allow_empty):
        raise InputError(f"targets: expected distinct names from ('q', 'k', 'v', 'o'), got {targets}")
    return targets


@dataclass(frozen=True)
class PointerTask:
    """Sequences of content tokens 0..n_content-1 ending in a pointer token ``n_content + p``.

    Label: the content token at position ``(p + shift) mod (seq_len - 1)``, or its group when
    ``n_groups`` is given (groups: a fixed random partition drawn from ``group_seed``).
    """

    n_content: int = 16
    seq_len: int = 8
    shift: int = 0
    n_groups: int | None = None
    group_seed: int = 0

    def __post_init__(self) -> None:
        check_positive_int("n_content", self.n_content)
        if check_positive_int("seq_len", self.seq_len) < 2:
            raise InputError(f"seq_len: expected >= 2 (content plus a pointer), got {self.seq_len}")
        if self.n_groups is not None:
            check_positive_int("n_groups", self.n_groups, self.n_content)
        check_int("shift", self.shift)
        check_int("group_seed", self.group_seed, 0)

    @property
    def vocab_size(self) -> int:
        return self.n_content + self.seq_len - 1

    @property
    def n_classes(self) -> int:
        return self.n_content if self.n_groups is None else self.n_groups

    def groups(self) -> np.ndarray:
        """Group of every content token: shape (n_content,), each group the same size (up to one)."""
        return np.random.default_rng(self.group_seed).permutation(self.n_content) % self.n_classes

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """tokens (n, seq_len) and labels (n,)."""
        n = check_positive_int("n", n)
        check_rng(rng)
        P = self.seq_len - 1
        content = rng.integers(0, self.n_content, (n, P))
        p = rng.integers(0, P, n)
        tokens = np.concatenate([content, (self.n_content + p)[:, None]], axis=1)
        target = content[np.arange(n), (p + self.shift) % P]
        return tokens, (target if self.n_groups is None else self.groups()[target])


@dataclass(frozen=True)
class Setting:
    """Sizes, steps and seeds of one run of the experiment."""

    name: str = "full"
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 1
    d_ff: int = 128
    n_content: int = 16
    seq_len: int = 8
    n_groups: int = 4
    pretrain_steps: int = 300
    pretrain_lr: float = 3e-3
    steps: int = 300            # adaptation steps
    batch: int = 64
    lr: float = 1e-2            # LoRA factors and the head
    lr_full: float = 1e-3       # full fine-tuning (all weights)
    alpha: float = 8.0          # scale = alpha / r, alpha fixed across ranks as in the paper
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    ranks: tuple[int, ...] = TABLE6_RANKS
    n_test: int = 2000
    base_seed: int = 0

    def __post_init__(self) -> None:
        for name in ("d_model", "n_heads", "n_layers", "d_ff", "n_content", "seq_len", "n_groups", "pretrain_steps",
                     "steps", "batch", "n_test"):
            check_positive_int(name, getattr(self, name))
        check_int("base_seed", self.base_seed, 0)
        for name in ("pretrain_lr", "lr", "lr_full", "alpha"):
            check_number(name, getattr(self, name), minimum=0)
        if self.d_model % self.n_heads:
            raise InputError(f"n_heads: expected a divisor of d_model = {self.d_model}, got {self.n_heads}")
        for name in ("seeds", "ranks"):
            if not isinstance(getattr(self, name), tuple):
                raise InputError(f"{name}: expected a tuple (a Setting is hashable), "
                                 f"got {type(getattr(self, name)).__name__}")
        for s in self.seeds:
            check_int("seeds", s, 0)
        for r in self.ranks:
            check_positive_int("ranks", r)
        if not self.seeds:
            raise InputError("seeds: expected at least one seed, got none")
        for r in self.ranks:
            if not 1 <= r <= self.d_model:
                raise InputError(f"ranks: expected each r in [1, d_model = {self.d_model}], got {r}")

    def pretrain_task(self) -> PointerTask:
        return PointerTask(self.n_content, self.seq_len)

    def downstream_task(self) -> PointerTask:
        return PointerTask(self.n_content, self.seq_len, shift=1, n_groups=self.n_groups, group_seed=self.base_seed)

    def model_config(self, n_classes: int) -> ToyConfig:
        return ToyConfig(vocab_size=self.pretrain_task().vocab_size, seq_len=self.seq_len, d_model=self.d_model,
                         n_heads=self.n_heads, n_layers=self.n_layers, d_ff=self.d_ff, n_classes=n_classes)


FULL = Setting()
NOTEBOOK = replace(FULL, name="notebook", seq_len=6, pretrain_steps=120, steps=120, batch=32, lr=2e-2,
                   lr_full=3e-3, seeds=(0, 1, 2), n_test=500)
TINY = replace(FULL, name="tiny", d_model=16, d_ff=32, n_heads=2, seq_len=5, n_content=8, pretrain_steps=30,
               steps=5, batch=16, seeds=(0,), ranks=(1, 2, 4, 8, 16), n_test=64)


@dataclass
class Base:
    """The pre-trained, frozen model and its accuracy on the pre-training task."""

    cfg: ToyConfig
    params: dict[str, np.ndarray]
    pretrain_accuracy: float
    zero_shot_accuracy: float   # the pre-trained model's prediction mapped to a group, on the shifted task


@dataclass
class Run:
    """One adaptation run: ``method`` is 'lora', 'head' (head only) or 'full' (full fine-tuning)."""

    method: str
    targets: tuple[str, ...]
    r: int | None
    seed: int
    accuracy: float
    n_trainable: int            # everything the optimizer moved, the new head included
    n_lora: int = 0             # LoRA factors only: |Theta| = 2 * (adapted matrices) * d_model * r
    adapters: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    scale: float = 1.0

    @property
    def name(self) -> str:
        return {"head": "head only", "full": "full fine-tuning"}.get(self.method) or config_name(self.targets, self.r)

    def delta(self, layer: int, target: str) -> np.ndarray:
        """Delta W = scale * B A of one adapted weight: (d_model, d_model)."""
        check_int("layer", layer, 0)
        if not isinstance(target, str) or f"l{layer}.{target}.A" not in self.adapters:
            have = sorted({k.split(".")[1] for k in self.adapters if k.startswith(f"l{layer}.")})
            raise InputError(f"target: expected an adapted target of layer {layer} among {have}, got {target!r}")
        return merged_delta(self.adapters[f"l{layer}.{target}.A"], self.adapters[f"l{layer}.{target}.B"], self.scale)


_BASES: dict[Setting, Base] = {}


def _train(params: dict, adapters: dict, names: list[str], task: PointerTask, cfg: ToyConfig, steps: int,
           batch: int, lr: float, rng: np.random.Generator, scale: float = 1.0, base_grads: bool = True) -> None:
    """Adam on ``names`` (keys of params or adapters) for ``steps`` fresh batches; arrays change in place."""
    both = {**params, **adapters}
    opt = Adam(names, lr=lr)
    for step in range(steps):
        tokens, y = task.sample(batch, rng)
        logits, cache = model_forward(params, tokens, cfg, adapters, scale)
        _, dlogits = softmax_cross_entropy(logits, y)
        grads = model_backward(dlogits, cache, base_grads=base_grads)
        # cosine decay to 10% of lr: the same schedule for every method
        opt.step(both, grads, lr=lr * (0.55 + 0.45 * np.cos(np.pi * step / max(1, steps))))


def pretrain(setting: Setting) -> Base:
    """Train the base on the pointer task (cached per setting within this process)."""
    check_instance("setting", setting, Setting)
    if setting in _BASES:
        return _BASES[setting]
    task = setting.pretrain_task()
    cfg = setting.model_config(task.n_classes)
    rng = np.random.default_rng(setting.base_seed)
    params = init_params(cfg, rng)
    _train(params, {}, list(params), task, cfg, setting.pretrain_steps, setting.batch, setting.pretrain_lr, rng)
    test = task.sample(setting.n_test, np.random.default_rng(setting.base_seed + 10_000))
    acc = accuracy(model_forward(params, test[0], cfg)[0], test[1])
    down = setting.downstream_task()
    tokens, y = down.sample(setting.n_test, np.random.default_rng(setting.base_seed + 20_000))
    guess = model_forward(params, tokens, cfg)[0].argmax(axis=1)      # a content token
    zero_shot = float((down.groups()[guess] == y).mean())
    for v in params.values():
        v.setflags(write=False)                                          # frozen from here on
    _BASES[setting] = Base(cfg, params, acc, zero_shot)
    return _BASES[setting]


def adapt(setting: Setting, method: str, targets: tuple[str, ...] = (), r: int | None = None,
          seed: int = 0) -> Run:
    """Adapt the frozen base to the shifted task with a new head, by 'lora' (targets, r), 'head' or 'full'."""
    check_instance("setting", setting, Setting)
    if not isinstance(method, str) or method not in ("lora", "head", "full"):
        raise InputError(f"method: expected 'lora', 'head' or 'full', got {method!r}")
    if method == "lora" and (not targets or r is None):
        raise InputError(f"{'targets' if not targets else 'r'}: expected targets and r for method 'lora', "
                         f"got targets={targets!r}, r={r!r}")
    if method == "lora":
        _check_targets(targets)
        check_positive_int("r", r, setting.d_model)
    check_int("seed", seed, 0)
    base = pretrain(setting)
    task = setting.downstream_task()
    cfg = replace(base.cfg, n_classes=task.n_classes)
    rng = np.random.default_rng([setting.base_seed, seed])
    params = {k: (v.copy() if method == "full" else v) for k, v in base.params.items()}
    params["head.W"] = rng.normal(0, cfg.d_model**-0.5, (cfg.n_classes, cfg.d_model))
    params["head.b"] = np.zeros(cfg.n_classes)
    adapters = init_adapters(cfg, tuple(targets), r, rng) if method == "lora" else {}
    scale = setting.alpha / r if method == "lora" else 1.0
    names = list(params) if method == "full" else ["head.W", "head.b", *adapters]
    lr = setting.lr_full if method == "full" else setting.lr
    _train(params, adapters, names, task, cfg, setting.steps, setting.batch, lr, rng, scale,
           base_grads=method == "full")
    test = task.sample(setting.n_test, np.random.default_rng(setting.base_seed + 20_000))
    acc = accuracy(model_forward(params, test[0], cfg, adapters, scale)[0], test[1])
    n_lora = lora_param_count(cfg.n_layers * len(targets), cfg.d_model, r) if method == "lora" else 0
    return Run(method, tuple(targets), r, seed, acc, n_params({**params, **adapters}, names), n_lora, adapters, scale)


def planned_runs(setting: Setting) -> list[tuple[str, tuple[str, ...], int | None]]:
    """(method, targets, r) of every distinct run per seed: Table 5 rows, the rank sweep, two baselines."""
    check_instance("setting", setting, Setting)
    plan = [("lora", t, r) for t, r in BUDGET_CONFIGS]
    plan += [("lora", RANK_TARGETS, r) for r in setting.ranks if ("lora", RANK_TARGETS, r) not in plan]
    return plan + [("head", (), None), ("full", (), None)]


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
        check_callable("progress", progress)
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


def plot_subspace(grids: dict[str, np.ndarray], crop: int | None = None):
    """The paper's Figure 2 layout: phi(i, j) heatmaps for q and v (grids (r_small, r_large)); returns the figure."""
    from lora_course.support.plotting import SEQUENTIAL_CMAP, figure

    check_mapping("grids", grids)
    if not grids:
        raise InputError("grids: expected at least one target's grid, got an empty dict")
    for t, grid in grids.items():
        if not isinstance(grid, np.ndarray) or grid.ndim != 2:
            raise InputError(f"grids[{t!r}]: expected a 2-D array (r_small, r_large), got {type(grid).__name__}")
    if crop is not None:
        check_positive_int("crop", crop)
    fig, axes = figure(ncols=len(grids), width=4.8, height=3.2)
    axes = np.atleast_1d(axes)
    for ax, (t, grid) in zip(axes, grids.items(), strict=True):
        g = grid if crop is None else grid[:, :crop]
        im = ax.imshow(g, vmin=0, vmax=1, cmap=SEQUENTIAL_CMAP, aspect="auto",
                       extent=(0.5, g.shape[1] + 0.5, g.shape[0] + 0.5, 0.5))
        ax.grid(False)
        small, large = grid.shape
        ax.set_title(f"W_{t}: φ(A at r={small}, A at r={large}, i, j)")
        ax.set_xlabel(f"j (top-j right-singular directions, r = {large})")
        ax.set_ylabel(f"i (top-i directions, r = {small})")
    fig.colorbar(im, ax=list(axes), label="φ (0 = no overlap, 1 = same subspace)")   # one shared scale
    return fig


def plot_rank_sweep(exp: Experiment):
    """Accuracy of {q, v} against r (log axis) with the baselines as horizontal lines; returns the figure."""
    from lora_course.support.plotting import PALETTE, figure

    check_instance("exp", exp, Experiment)
    fig, ax = figure(width=6.0, height=3.6)
    ranks = exp.setting.ranks
    stats = np.array([exp.stats("lora", RANK_TARGETS, r) for r in ranks])
    ax.errorbar(ranks, stats[:, 0], yerr=stats[:, 1], marker="o", capsize=3, color=PALETTE[0],
                label="LoRA on Wq, Wv (mean ± sd over seeds)")
    for (method, label), colour in zip((("full", "full fine-tuning"), ("head", "head only")),
                                       (PALETTE[2], PALETTE[3]), strict=True):
        ax.axhline(exp.stats(method)[0], color=colour, linestyle="--", label=label)
    ax.set_xscale("log", base=2)
    ax.set_xticks(ranks, [str(r) for r in ranks])
    ax.set_xlabel("rank r (log scale)")
    ax.set_ylabel("test accuracy on the shifted task (%)")
    ax.set_title("Toy model: accuracy against LoRA rank")
    ax.legend(loc="lower right", fontsize=8)
    return fig


# ---------------------------------------------------------------- claims decided by the run
def _per_seed(exp: Experiment, method: str, targets: tuple[str, ...] = (), r: int | None = None) -> np.ndarray:
    """Accuracy in percent, one value per seed in ``setting.seeds`` order."""
    runs = {x.seed: x for x in exp.select(method, targets, r)}
    return 100 * np.array([runs[s].accuracy for s in exp.setting.seeds])


def finding_claims(exp: Experiment, r_small: int = 8, r_large: int | None = None) -> list:
    """The paper's findings (and this toy's own), each as a ``Claim`` on per-seed values with a t interval.

    Accuracy claims compare two configurations seed by seed (paired differences, in points); the subspace
    and amplification claims use one value per seed. With few seeds the intervals are wide, so a claim is
    'holds' or 'does not hold' only when every seed's evidence points the same way strongly enough.
    """
    from lora_course.measure.verdicts import claim, mean_interval

    check_instance("exp", exp, Experiment)
    r_large = max(exp.setting.ranks) if r_large is None else r_large
    for name, r in (("r_small", r_small), ("r_large", r_large)):
        if isinstance(r, bool) or not isinstance(r, numbers.Integral) or r not in exp.setting.ranks:
            raise InputError(f"{name}: expected one of the swept ranks {exp.setting.ranks}, got {r!r}")
    r_small, r_large = int(r_small), int(r_large)
    acc = {name: _per_seed(exp, "lora", t, r) for name, (t, r) in
           {config_name(t, r): (t, r) for t, r in dict.fromkeys((x.targets, x.r) for x in exp.runs
                                                               if x.method == "lora")}.items()}
    head, full = _per_seed(exp, "head"), _per_seed(exp, "full")
    singles = [f"W{t} r=8" for t in "qkvo"]
    best_single = max(singles, key=lambda n: acc[n].mean())
    qv = config_name(RANK_TARGETS, 4)
    r1, rL = config_name(RANK_TARGETS, min(exp.setting.ranks)), config_name(RANK_TARGETS, r_large)
    pts = " points"
    out = [
        claim("Wq,Wv at r=4 beats Wq alone at r=8 (paper, Table 5)", mean_interval(acc[qv] - acc["Wq r=8"]),
              "above", 0.0, unit=pts),
        claim(f"all four at r=2 beats the best single type at r=8, here {best_single.split()[0]} (paper, Table 5)",
              mean_interval(acc["Wq,Wk,Wv,Wo r=2"] - acc[best_single]), "above", 0.0, unit=pts),
        claim(f"r={r_large} gains less than 2 points over r={min(exp.setting.ranks)} for Wq,Wv (paper, Table 6: "
              f"r=1 is about as good as r=64)", mean_interval(acc[rL] - acc[r1]), "below", 2.0, unit=pts),
    ]
    grids = [exp.subspace_grids(seed=s, r_small=r_small, r_large=r_large) for s in exp.setting.seeds]
    for t in RANK_TARGETS:
        out.append(claim(f"the top direction is shared across r={r_small} and r={r_large} for W{t}: "
                         f"phi(1,1) above 0.5 (paper, Figure 2)",
                         mean_interval([g[t][0, 0] for g in grids]), "above", 0.5))
    amps = [exp.amplification(4, seed=s) for s in exp.setting.seeds]
    out += [
        claim("dWq's directions hold more of Wq than random directions (paper, section 7.3)",
              mean_interval([a["proj_dW"] - a["proj_random"] for a in amps]), "above", 0.0),
        claim("LoRA (Wq,Wv r=4) beats head-only", mean_interval(acc[qv] - head), "above", 0.0, unit=pts),
        claim("LoRA (Wq,Wv r=4) comes within 1 point of full fine-tuning or better",
              mean_interval(acc[qv] - full), "above", -1.0, unit=pts),
        claim("this toy: Wv alone at r=8 stays within 5 points of head-only", mean_interval(acc["Wv r=8"] - head),
              "within", 0.0, 5.0, unit=pts),
        claim("this toy: Wo alone at r=8 stays within 5 points of head-only", mean_interval(acc["Wo r=8"] - head),
              "within", 0.0, 5.0, unit=pts),
        claim(f"this toy: accuracy rises with rank, r={r_large} beats r={min(exp.setting.ranks)} for Wq,Wv",
              mean_interval(acc[rL] - acc[r1]), "above", 0.0, unit=pts),
    ]
    return out


def findings_summary(claims: list) -> list[str]:
    """One sentence per claim, chosen by its verdict."""
    from lora_course.measure.verdicts import Claim

    for i, c in enumerate(check_sequence("claims", claims)):
        check_instance(f"claims[{i}]", c, Claim)
    sentences = []
    for c in claims:
        what = c.text.split(" (paper")[0]
        sentences.append(c.say(f"Agrees: {what}.", f"Disagrees: it is not the case that {what}.",
                               f"Not settled by this run: {what}."))
    return sentences
