"""How often a timing interval covers the true ratio when the noise drifts during the run.

Each simulated run is ``n`` per-round ratios ``theta + noise``: the noise is autocorrelated from round to round
(AR(1) with coefficient ``phi``), heavy-tailed (Student's t with 4 degrees of freedom) and its scale drifts
during the run, the way a shared machine's load does: a step (4x from the middle on), a ramp (1x to 4x) or a
slow wave (1x to 4x and back). The script prints, for each setting, the share of runs whose 95 % interval
contains ``theta`` for the batch-means interval the lessons use (``batch_median``) and for the moving-block
bootstrap they used before (``bootstrap_median``), with the mean width of each. A benchmark, not a test
(``tests/test_interval_coverage.py`` asserts the batch-means coverage on a smaller simulation).

    python benchmarks/interval_coverage.py --trials 2000
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from lora_course.measure.intervals import batch_median, bootstrap_median

THETA = 1.1


def drifting_noise(rng: np.random.Generator, trials: int, n: int, kind: str, phi: float) -> np.ndarray:
    """(trials, n) noise: AR(1) with coefficient ``phi`` over t(4) innovations (unit variance), scaled by a
    drift of kind 'step', 'ramp' or 'wave' (1x to 4x) times 0.02."""
    z = rng.standard_t(4, size=(trials, n)) / math.sqrt(2)
    e = np.empty((trials, n))
    prev = np.zeros(trials)
    for i in range(n):
        prev = phi * prev + math.sqrt(1 - phi**2) * z[:, i]
        e[:, i] = prev
    t = np.linspace(0, 1, n)
    if kind == "step":
        scale = np.where(t < 0.5, 1.0, 4.0)[None]
    elif kind == "ramp":
        scale = (1 + 3 * t)[None]
    else:
        phase = rng.uniform(0, 2 * np.pi, size=(trials, 1))
        scale = 1 + 1.5 * (1 + np.sin(2 * np.pi * t[None] + phase))
    return 0.02 * scale * e


def coverage(samples: np.ndarray, method: str, rng: np.random.Generator) -> tuple[float, float]:
    """Share of rows whose 95 % interval contains THETA, and the mean width."""
    hits, widths = 0, 0.0
    for x in samples:
        iv = batch_median(x) if method == "batch" else bootstrap_median(x, rng=rng, n_boot=500)
        hits += iv.contains(THETA)
        widths += iv.hi - iv.lo
    return hits / len(samples), widths / len(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=2000, help="simulated runs per setting (default 2000)")
    parser.add_argument("--rounds", type=int, nargs="+", default=[20, 40, 100], help="rounds per run")
    parser.add_argument("--phi", type=float, nargs="+", default=[0.0, 0.3, 0.5], help="AR(1) coefficients")
    parser.add_argument("--bootstrap-trials", type=int, default=500, help="runs per setting for the bootstrap")
    args = parser.parse_args()
    if args.trials < 1 or args.bootstrap_trials < 1 or any(n < 5 for n in args.rounds):
        raise SystemExit("--trials >= 1, --bootstrap-trials >= 1 and --rounds >= 5 expected")
    print(f"{'phi':>4} {'rounds':>6} {'drift':>6}  {'batch means: cover, width':>27}  "
          f"{'block bootstrap: cover, width':>31}")
    for phi in args.phi:
        for n in args.rounds:
            for kind in ("step", "ramp", "wave"):
                rng = np.random.default_rng([n, int(100 * phi), len(kind)])
                x = THETA + drifting_noise(rng, args.trials, n, kind, phi)
                cb, wb = coverage(x, "batch", rng)
                cs, ws = coverage(x[:args.bootstrap_trials], "bootstrap", rng)
                print(f"{phi:>4.1f} {n:>6} {kind:>6}  {cb:>18.3f}, {wb:.4f}  {cs:>22.3f}, {ws:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
