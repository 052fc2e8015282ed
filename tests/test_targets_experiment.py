"""The lesson 03 experiment at a tiny setting: tasks, budgets, frozen base, tables, analyses, widget."""

from dataclasses import replace

import numpy as np
import pytest

from lora_course.lessons import l03_experiment as tx
from lora_course.lessons import l03_findings as tf
from lora_course.lessons import l03_targets as te
from lora_course.lessons.l03_widget import PAPER_BUDGET, budget_html, budget_report
from lora_course.lowrank import lora_param_count
from lora_course.measure.verdicts import Verdict


def test_pointer_task_labels_follow_the_pointer():
    task = te.PointerTask(n_content=8, seq_len=5, shift=1)
    tokens, y = task.sample(200, np.random.default_rng(0))
    assert tokens.shape == (200, 5) and tokens[:, :-1].max() < 8 and tokens[:, -1].min() >= 8
    p = tokens[:, -1] - 8
    assert np.array_equal(y, tokens[np.arange(200), (p + 1) % 4])
    grouped = te.PointerTask(n_content=8, seq_len=5, n_groups=4)
    assert np.array_equal(np.bincount(grouped.groups()), [2, 2, 2, 2]), "groups should have equal size"
    assert grouped.vocab_size == 12 and grouped.n_classes == 4


def test_the_paper_budget_is_equal_across_table5_rows():
    counts = {lora_param_count(96 * len(t), 12288, r) for t, r in te.BUDGET_CONFIGS}
    assert counts == {18_874_368}
    assert lora_param_count(2 * 96, 12288, 1) == 4_718_592


@pytest.fixture(scope="module")
def tiny():
    return tx.run_experiment(te.TINY)


def test_tiny_experiment_runs_every_configuration(tiny):
    plan = te.planned_runs(te.TINY)
    assert len(tiny.runs) == len(plan) * len(te.TINY.seeds)
    lora_counts = {x.n_lora for x in tiny.runs if x.method == "lora" and (x.targets, x.r) in te.BUDGET_CONFIGS}
    assert lora_counts == {2 * 8 * 16}, "every Table 5 row should train the same number of LoRA parameters"
    head = tiny.select("head")[0]
    assert head.n_trainable == 4 * 16 + 4 and head.n_lora == 0
    assert tiny.select("full")[0].n_trainable > 10 * head.n_trainable
    assert all(0 <= x.accuracy <= 1 for x in tiny.runs)


def test_base_is_frozen_during_adaptation(tiny):
    base = te.pretrain(te.TINY)
    assert base is tiny.base, "pre-training should be cached within a process"
    snapshot = {k: v.copy() for k, v in base.params.items()}
    te.adapt(te.TINY, "lora", ("q", "v"), 2, seed=5)
    te.adapt(te.TINY, "full", seed=5)
    assert all(np.array_equal(snapshot[k], base.params[k]) for k in snapshot)
    with pytest.raises(ValueError):
        base.params["l0.Wq"][0, 0] = 1.0


def test_tables_have_the_papers_rows_and_numbers(tiny):
    t5, t6, bl = tiny.table5(), tiny.table6(), tiny.baselines()
    for name in ("Wq ", "Wk ", "Wv ", "Wo ", "Wq,Wk ", "Wq,Wv ", "Wq,Wk,Wv,Wo"):
        assert name in t5
    assert "70.4" in t5 and "91.7" in t5          # paper's Wq WikiSQL, all-four MultiNLI
    assert "r=16" in t6 and "head only" in bl and "full fine-tuning" in bl
    full = replace(te.TINY, ranks=(1, 2, 4, 8, 64), d_model=64)
    assert full.ranks == te.FULL.ranks


def test_analyses_have_the_right_shapes(tiny):
    grids = tiny.subspace_grids(r_small=8, r_large=16)
    assert set(grids) == {"q", "v"} and grids["q"].shape == (8, 16)
    assert np.all((grids["v"] >= -1e-12) & (grids["v"] <= 1 + 1e-12))
    amp = tiny.amplification(4)
    assert amp["factor"] > 0 and np.isclose(amp["factor"] * amp["proj_dW"], amp["dW_norm"])
    # top-r directions of W_q itself capture at least as much of W_q as any other r directions
    assert amp["proj_W"] >= amp["proj_dW"] - 1e-12 and amp["proj_W"] >= amp["proj_random"] - 1e-12


def test_adapt_rejects_bad_methods():
    with pytest.raises(ValueError, match="method"):
        te.adapt(te.TINY, "prefix")
    with pytest.raises(ValueError, match="targets and r"):
        te.adapt(te.TINY, "lora", ("q",), None)


def test_widget_report_counts_the_papers_examples():
    rep = budget_report(("v", "q"), 4, {"Wq,Wv r=4": (91.0, 2.0)})
    assert rep["targets"] == ("q", "v") and rep["gpt3_params"] == 18_874_368 == PAPER_BUDGET
    assert rep["budget_share"] == 1.0 and rep["toy_params"] == 1024 and rep["measured"] == (91.0, 2.0)
    assert budget_report(("q", "v"), 1)["gpt3_params"] == 4_718_592
    page = budget_html(rep, {"Wq r=8": (80.0, 1.0), "Wq,Wv r=4": (91.0, 2.0)})
    assert "on budget" in page and 'background' in page.split("<td>Wq,Wv r=4")[0].rsplit("<tr", 1)[1]
    assert "over budget" in budget_html(budget_report(("q", "k", "v", "o"), 8))
    assert "not run" in budget_html(budget_report(("k",), 2))
    with pytest.raises(ValueError, match="targets"):
        budget_report(("x",), 2)
    with pytest.raises(ValueError, match="<= 64"):
        budget_report(("q",), 65)


def _synthetic(tiny, acc_by_name, seeds=(0, 1, 2), noise=0.0):
    """An Experiment whose runs have the given accuracies (percent) on three seeds, analyses stubbed."""
    rng = np.random.default_rng(0)
    runs = []
    for seed in seeds:
        for x in tiny.runs:
            runs.append(replace(x, seed=seed, accuracy=(acc_by_name(x.name) + noise * rng.normal()) / 100))
    exp = tx.Experiment(replace(tiny.setting, seeds=seeds), tiny.base, runs)
    exp.subspace_grids = lambda seed=None, r_small=8, r_large=16: {"q": np.full((8, 16), 0.9),
                                                                   "v": np.full((8, 16), 0.1)}
    exp.amplification = lambda r, seed=None: {"proj_dW": 2.0, "proj_random": 1.0}
    return exp


def test_finding_claims_follow_the_numbers(tiny):


    table = {"Wq,Wv r=4": 80, "Wq r=8": 70, "Wk r=8": 60, "Wv r=8": 26, "Wo r=8": 40, "Wq,Wk r=4": 60,
             "Wq,Wk,Wv,Wo r=2": 75, "Wq,Wv r=1": 50, "Wq,Wv r=2": 60, "Wq,Wv r=8": 85, "Wq,Wv r=16": 90,
             "head only": 25, "full fine-tuning": 95}
    exp = _synthetic(tiny, table.get, noise=0.5)
    verdicts = [c.verdict for c in tf.finding_claims(exp, r_small=8, r_large=16)]
    assert verdicts == [Verdict.HOLDS, Verdict.HOLDS, Verdict.FAILS, Verdict.HOLDS, Verdict.FAILS, Verdict.HOLDS,
                        Verdict.HOLDS, Verdict.FAILS, Verdict.HOLDS, Verdict.FAILS, Verdict.HOLDS]
    sentences = tf.findings_summary(tf.finding_claims(exp, r_small=8, r_large=16))
    assert sentences[0] == "Agrees: Wq,Wv at r=4 beats Wq alone at r=8."
    assert sentences[2].startswith("Disagrees: it is not the case that r=16 gains less than 2 points")
    noisy = _synthetic(tiny, table.get, noise=30.0)
    for c in tf.finding_claims(noisy, r_small=8, r_large=16)[:1]:
        assert c.verdict in (Verdict.HOLDS, Verdict.UNRESOLVED), "noise may unsettle a claim, not reverse it"


def test_the_quick_setting_is_the_notebook_setting_with_one_seed():
    assert te.QUICK.seeds == (0,) and te.NOTEBOOK.seeds[0] == 0
    assert replace(te.QUICK, name="notebook", seeds=te.NOTEBOOK.seeds) == te.NOTEBOOK
    assert len(te.planned_runs(te.QUICK)) == len(te.planned_runs(te.NOTEBOOK))


def test_one_seed_decides_no_finding(tiny):
    """One value per claim gives no interval over seeds: every finding is 'not resolved: too few samples'."""
    claims = tf.finding_claims(tiny, r_small=2, r_large=8)
    assert claims and all(c.verdict is Verdict.TOO_FEW for c in claims)
    assert all(s.startswith("Not settled by this run (not resolved: too few samples for a verdict): ")
               for s in tf.findings_summary(claims))
