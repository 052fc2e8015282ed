"""Lesson 03's findings: the claims an experiment decides (with intervals over seeds), and their summary."""

from __future__ import annotations

import numbers

import numpy as np

from lora_course.lessons.l03_experiment import Experiment
from lora_course.lessons.l03_targets import RANK_TARGETS, config_name
from lora_course.validation import InputError, check_instance, check_sequence


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
        reason = "" if c.verdict.value == "not resolved at this noise level" else f" ({c.verdict})"
        sentences.append(c.say(f"Agrees: {what}.", f"Disagrees: it is not the case that {what}.",
                               f"Not settled by this run{reason}: {what}."))
    return sentences
