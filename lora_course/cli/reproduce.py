"""``lora-course reproduce``: lesson 03's target/rank experiment in its full setting, with tables and figures."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

SETTINGS = ("full", "notebook", "quick", "tiny")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--setting", choices=SETTINGS, default="full",
                        help="full (default, a few minutes), notebook (the lesson's 3-seed run), quick (the lesson's "
                             "default, one seed) or tiny (smoke test)")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default: the setting's)")
    parser.add_argument("--steps", type=int, default=None, help="adaptation steps per run (default: the setting's)")
    parser.add_argument("--out", type=Path, default=Path("reproduce-out"), help="folder for figures and results.json")
    parser.add_argument("--no-progress", action="store_true", help="do not draw the progress bar")


def _setting(args: argparse.Namespace):
    from lora_course.lessons import l03_targets as te

    setting = {"full": te.FULL, "notebook": te.NOTEBOOK, "quick": te.QUICK, "tiny": te.TINY}[args.setting]
    if args.seeds is not None:
        if args.seeds < 1:
            raise ValueError(f"--seeds: expected an integer >= 1, got {args.seeds}")
        setting = replace(setting, seeds=tuple(range(args.seeds)))
    if args.steps is not None:
        if args.steps < 1:
            raise ValueError(f"--steps: expected an integer >= 1, got {args.steps}")
        setting = replace(setting, steps=args.steps)
    return setting


def _finite(x: float) -> float | None:
    """JSON has no infinity: an unbounded end of an interval (one seed) is written as null."""
    return x if np.isfinite(x) else None


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from tqdm import tqdm

    from lora_course.lessons import l03_experiment as tx
    from lora_course.lessons import l03_findings as tf
    from lora_course.lessons import l03_plots as tp
    from lora_course.lessons import l03_targets as te
    from lora_course.measure.blas_threads import limit_blas_threads
    from lora_course.measure.verdicts import format_claims, tally
    from lora_course.paper import AMPLIFICATION_R4, CITATION

    setting = _setting(args)
    if args.out.exists() and not args.out.is_dir():      # before minutes of training, not after
        raise ValueError(f"--out: expected a folder for the figures, got {args.out}, which is a file")
    limit_blas_threads(1)    # small matrices: threads cost more than they give (see blas_threads)
    total = 1 + len(setting.seeds) * len(te.planned_runs(setting))
    print(f"setting {setting.name}: d_model {setting.d_model}, {setting.n_layers} layer(s), "
          f"{len(setting.seeds)} seed(s), {setting.steps} adaptation steps, {total - 1} runs")
    with tqdm(total=total, disable=args.no_progress, unit="run") as bar:
        def progress(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(1)

        exp = tx.run_experiment(setting, progress)
    print(f"\nPre-trained base: {100 * exp.base.pretrain_accuracy:.1f}% on the pointer task; used as is on the "
          f"shifted task: {100 * exp.base.zero_shot_accuracy:.1f}%.")
    print(f"\nTable 5 (same budget, different weight types). Paper: {CITATION}\n{exp.table5()}")
    print(f"\nTable 6 (Wq, Wv by rank)\n{exp.table6()}")
    print(f"\nBaselines\n{exp.baselines()}")
    amps = []
    for r in (4, max(setting.ranks)):
        amps.append(exp.amplification(r))
        a = amps[-1]
        print(f"\nAmplification of Delta W_q at r = {r}: {a['factor']:.2f} "
              f"(||U^T W_q V^T||: Delta W_q {a['proj_dW']:.2f}, W_q {a['proj_W']:.2f}, random {a['proj_random']:.2f})")
    print(f"paper, GPT-3 layer 48, r = 4: {AMPLIFICATION_R4}")
    r_small = 8 if 8 in setting.ranks else min(setting.ranks)
    claims = tf.finding_claims(exp, r_small=r_small, r_large=max(setting.ranks))
    print(f"\nThe paper's findings on this run ({len(setting.seeds)} seeds, Student t 95 % intervals over seeds; "
          f"{tally(claims)}):\n{format_claims(claims)}")
    print("\n" + "\n".join(tf.findings_summary(claims)))
    args.out.mkdir(parents=True, exist_ok=True)
    small, large = (8, max(setting.ranks)) if 8 in setting.ranks else sorted(setting.ranks)[-2:]
    grids = exp.subspace_grids(r_small=small, r_large=large)
    crop = 16 if large == setting.d_model and large > 16 else None   # phi -> 1 trivially once j nears d_model
    figures = {"subspace_similarity.png": tp.plot_subspace(grids, crop=crop),
               "rank_sweep.png": tp.plot_rank_sweep(exp)}
    for name, fig in figures.items():
        fig.savefig(args.out / name, dpi=120)
        plt.close(fig)
    results = {"setting": {k: v for k, v in vars(setting).items()}, "runs": [
        {"name": x.name, "seed": x.seed, "accuracy": x.accuracy, "n_trainable": x.n_trainable, "n_lora": x.n_lora}
        for x in exp.runs], "amplification": amps, "phi_top": {t: float(g[0, 0]) for t, g in grids.items()},
        "claims": [{"claim": c.text, "verdict": str(c.verdict), "estimate": c.interval.estimate,
                    "lo": _finite(c.interval.lo), "hi": _finite(c.interval.hi)} for c in claims]}
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    print(f"\nsaved {args.out / 'subspace_similarity.png'}, {args.out / 'rank_sweep.png'}, {args.out / 'results.json'}")
    return 0
