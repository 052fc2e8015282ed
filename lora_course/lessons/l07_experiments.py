"""Lesson 07's toy experiments, each decided by an interval over seeds (``measure.verdicts``).

One function per variant; each returns the per-seed numbers and the ``Claim`` they support. Targets:
lesson 02's random low-rank change (``make_task``), a change along W0's top singular directions
(``principal_task``, PiSSA's premise) and a per-output-feature rescaling of W0 (``rescaled_rows_task``, a change
of magnitudes only, which DoRA's m represents exactly and a low-rank LoRA cannot).
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm  # text progress on stderr: a stored notebook keeps no widget state for it

from lora_course.lessons.l02_toy_regression import ToyTask, make_task, train_lora
from lora_course.lessons.l07_training import nf4_base, steps_to, train_adapter
from lora_course.measure.verdicts import Claim, claim, mean_interval
from lora_course.nf4 import dequantize_blockwise, quantize_blockwise
from lora_course.validation import (
    InputError,
    check_instance,
    check_int,
    check_number,
    check_positive_int,
    check_rank,
    check_rng,
    check_sequence,
    check_size,
)

TARGET = 0.01          # "reached": the loss is down to 1 % of its start
STEPS = 300


def principal_task(rng: np.random.Generator, d: int = 32, k: int = 32, n: int = 128, r: int = 2,
                   boost: float = 0.5) -> ToyTask:
    """W0 ~ N(0, 1/k); the true change multiplies W0's top ``r`` singular values by 1 + boost."""
    check_rng(rng)
    d, k, n = (check_positive_int(name, v) for name, v in (("d", d), ("k", k), ("n", n)))
    check_size({"d": d, "k": k}, "W0 (d, k)")
    check_size({"n": n, "k": k}, "X (n, k)")
    r = check_rank(r, d, k)
    boost = check_number("boost", boost)
    W0 = rng.normal(0.0, 1.0 / np.sqrt(k), size=(d, k))
    U, S, Vt = np.linalg.svd(W0, full_matrices=False)
    delta = (U[:, :r] * (boost * S[:r])) @ Vt[:r]                           # (d, k), rank r
    X = rng.normal(size=(n, k))
    return ToyTask(W0, delta, X, X @ (W0 + delta).T)


def rescaled_rows_task(rng: np.random.Generator, d: int = 32, k: int = 32, n: int = 128,
                       spread: float = 0.5) -> ToyTask:
    """W0 ~ N(0, 1/k); the true weight rescales each output feature (row) by g_i ~ U(1 - spread, 1 + spread)."""
    check_rng(rng)
    d, k, n = (check_positive_int(name, v) for name, v in (("d", d), ("k", k), ("n", n)))
    check_size({"d": d, "k": k}, "W0 (d, k)")
    check_size({"n": n, "k": k}, "X (n, k)")
    spread = check_number("spread", spread, minimum=0, maximum=1, what="a spread of row scalings")
    W0 = rng.normal(0.0, 1.0 / np.sqrt(k), size=(d, k))
    delta = (rng.uniform(1 - spread, 1 + spread, size=d)[:, None] - 1) * W0   # (d, k), full rank in general
    X = rng.normal(size=(n, k))
    return ToyTask(W0, delta, X, X @ (W0 + delta).T)


def _seeds(seeds) -> list[int]:
    out = [check_int(f"seeds[{i}]", s, 0) for i, s in enumerate(check_sequence("seeds", seeds, min_len=2))]
    if len(set(out)) != len(out):
        raise InputError(f"seeds: expected distinct seeds (a repeated one narrows the interval falsely), got {out}")
    return out


def rslora_experiment(seeds=(0, 1, 2, 3, 4), low: int = 2, high: int = 32, alpha: float = 4.0,
                      steps: int = STEPS) -> dict:
    """Steps to 1 % at rank ``high`` over rank ``low`` (SGD, lr 0.1) per scaling, and Adam's high-rank steps
    with alpha / sqrt(r) over alpha / r. Returns the ratios per seed and three claims."""
    seeds, steps = _seeds(seeds), check_positive_int("steps", steps)
    low, high = check_positive_int("low", low, 32), check_positive_int("high", high, 32)
    alpha = check_number("alpha", alpha, minimum=0)
    ratios = {"sgd alpha/r": [], "sgd alpha/sqrt(r)": [], "adam sqrt/plain": []}
    for seed in tqdm(seeds, desc="rsLoRA runs (seeds)"):
        task = make_task(np.random.default_rng(seed), d=32, k=32, n=128, true_rank=1)

        def count(r, scaling, opt, lr, task=task, seed=seed):
            run = train_lora(task, r, np.random.default_rng(1000 + seed), steps=steps, lr=lr, alpha=alpha,
                             scaling=scaling, init_std=1 / np.sqrt(32), optimizer=opt)
            return steps_to(run.losses, TARGET)

        for name, scaling in (("sgd alpha/r", "alpha_over_r"), ("sgd alpha/sqrt(r)", "alpha_over_sqrt_r")):
            ratios[name].append(count(high, scaling, "sgd", 0.1) / count(low, scaling, "sgd", 0.1))
        ratios["adam sqrt/plain"].append(count(high, "alpha_over_sqrt_r", "adam", 0.003)
                                         / count(high, "alpha_over_r", "adam", 0.003))
    claims = [
        claim(f"SGD, alpha / r: rank {high} needs more than twice the steps of rank {low}",
              mean_interval(ratios["sgd alpha/r"]), "above", 2.0, unit="x"),
        claim(f"SGD, alpha / sqrt(r): rank {high} needs less than twice the steps of rank {low}",
              mean_interval(ratios["sgd alpha/sqrt(r)"]), "below", 2.0, unit="x"),
        claim(f"Adam, rank {high}: alpha / sqrt(r) reaches the target in fewer steps than alpha / r",
              mean_interval(ratios["adam sqrt/plain"]), "below", 1.0, unit="x"),
    ]
    return {"ratios": {key: np.array(v) for key, v in ratios.items()}, "claims": claims}


def dora_experiment(seeds=(0, 1, 2, 3, 4), r: int = 2, steps: int = STEPS) -> dict:
    """Final loss of DoRA over LoRA (rank r, Adam) on the rescaled-rows target, per seed, and the claim."""
    seeds, steps, r = _seeds(seeds), check_positive_int("steps", steps), check_positive_int("r", r, 32)
    ratios = []
    for seed in tqdm(seeds, desc="DoRA vs LoRA (seeds)"):
        task = rescaled_rows_task(np.random.default_rng(seed))
        final = {m: train_adapter(task, m, r, np.random.default_rng(1000 + seed), steps=steps).losses[-1]
                 for m in ("lora", "dora")}
        ratios.append(final["dora"] / final["lora"])
    log_ratio = np.log10(np.maximum(np.array(ratios), 1e-300))
    c = claim(f"rank {r}, rows rescaled: DoRA's final loss is below a tenth of LoRA's (log10 of the ratio < -1)",
              mean_interval(log_ratio), "below", -1.0)
    return {"log10_ratio": log_ratio, "claims": [c]}


def pissa_experiment(seeds=(0, 1, 2, 3, 4), r: int = 2, steps: int = STEPS) -> dict:
    """Steps to 1 % of PiSSA over LoRA (Adam, rank r) on a principal-direction target and on a random one."""
    seeds, steps, r = _seeds(seeds), check_positive_int("steps", steps), check_positive_int("r", r, 32)
    ratios = {"principal": [], "random": []}
    for seed in tqdm(seeds, desc="PiSSA vs LoRA (seeds)"):
        tasks = {"principal": principal_task(np.random.default_rng(seed), r=r),
                 "random": make_task(np.random.default_rng(seed), d=32, k=32, n=128, true_rank=r)}
        for name, task in tasks.items():
            counts = {m: steps_to(train_adapter(task, m, r, np.random.default_rng(1000 + seed), steps=steps).losses,
                                  TARGET) for m in ("lora", "pissa")}
            ratios[name].append(counts["pissa"] / counts["lora"])
    claims = [claim("change along W0's top singular directions: PiSSA needs fewer steps than LoRA",
                    mean_interval(ratios["principal"]), "below", 1.0, unit="x"),
              claim("random low-rank change: PiSSA needs fewer steps than LoRA",
                    mean_interval(ratios["random"]), "below", 1.0, unit="x")]
    return {"ratios": {key: np.array(v) for key, v in ratios.items()}, "claims": claims}


def loraplus_experiment(seeds=(0, 1, 2, 3, 4), ratios=(2.0, 4.0, 8.0, 16.0), r: int = 4, lr: float = 0.003,
                        steps: int = STEPS) -> dict:
    """Steps to 1 % with lr_B = ratio * lr over plain LoRA's (ratio 1), Adam, per seed; one claim per ratio."""
    seeds, steps, r = _seeds(seeds), check_positive_int("steps", steps), check_positive_int("r", r, 32)
    lr = check_number("lr", lr, minimum=0)
    ratios = [check_number(f"ratios[{i}]", x, minimum=0) for i, x in enumerate(check_sequence("ratios", ratios,
                                                                                                min_len=1))]
    rel = {lam: [] for lam in ratios}
    for seed in tqdm(seeds, desc="LoRA+ ratios (seeds)"):
        task = make_task(np.random.default_rng(seed), d=32, k=32, n=128, true_rank=2)

        def count(lam, task=task, seed=seed):
            run = train_adapter(task, "lora", r, np.random.default_rng(1000 + seed), steps=steps, lr=lr, ratio=lam)
            return steps_to(run.losses, TARGET)

        base = count(1.0)
        for lam in ratios:
            rel[lam].append(count(lam) / base)
    claims = [claim(f"LoRA+ with ratio {lam:g} needs fewer steps than plain LoRA", mean_interval(rel[lam]),
                    "below", 1.0, unit="x") for lam in ratios]
    return {"relative_steps": {lam: np.array(v) for lam, v in rel.items()}, "claims": claims}


def nf4_experiment(seeds=(0, 1, 2, 3, 4), shape=(256, 256), block: int = 64) -> dict:
    """RMS error of NF4 over a uniform 16-level absmax grid on Gaussian weights, per seed, and the claim."""
    seeds, block = _seeds(seeds), check_positive_int("block", block)
    shape = tuple(check_positive_int(f"shape[{i}]", n) for i, n in enumerate(check_sequence("shape", shape, min_len=1)))
    levels_uniform = np.linspace(-1.0, 1.0, 16)
    ratios = []
    for seed in tqdm(seeds, desc="NF4 vs uniform 4-bit (seeds)"):
        W = np.random.default_rng(seed).normal(0.0, 0.02, size=shape)
        err_nf4 = np.sqrt(np.mean((nf4_base(W, block) - W) ** 2))
        codes, absmax = quantize_blockwise(W, levels_uniform, block)
        err_uniform = np.sqrt(np.mean((dequantize_blockwise(codes, absmax, levels_uniform, W.shape, block) - W) ** 2))
        ratios.append(err_nf4 / err_uniform)
    c = claim("on Gaussian weights NF4's RMS error is below that of a uniform 16-level grid",
              mean_interval(ratios), "below", 1.0, unit="x")
    return {"ratios": np.array(ratios), "claims": [c]}


def verdict_of(claims: list[Claim]) -> str:
    """One cell of the summary table: every claim's verdict, in order."""
    claims = check_sequence("claims", claims, min_len=1)
    return "; ".join(str(check_instance(f"claims[{i}]", c, Claim).verdict) for i, c in enumerate(claims))
