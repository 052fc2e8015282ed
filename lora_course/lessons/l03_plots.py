"""Lesson 03's figures: the subspace-similarity heatmaps (the paper's Figure 2) and the rank sweep."""

from __future__ import annotations

import numpy as np

from lora_course.lessons.l03_experiment import Experiment
from lora_course.lessons.l03_targets import RANK_TARGETS
from lora_course.validation import InputError, check_instance, check_mapping, check_positive_int


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
