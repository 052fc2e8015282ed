"""Lesson 07's helpers: every variant starts at the frozen layer's loss and trains; the toy targets are what they
say; the experiments return one claim per question; the summary table has one row per variant."""

import numpy as np
import pytest

from lora_course.lessons import l07_experiments as E
from lora_course.lessons.l02_toy_regression import make_task, mse_loss
from lora_course.lessons.l07_summary import PAPER_REPORTS, format_summary, summary_rows
from lora_course.lessons.l07_training import METHODS, nf4_base, steps_to, train_adapter
from lora_course.measure.verdicts import Verdict


@pytest.mark.parametrize("method", METHODS)
def test_every_variant_starts_at_the_frozen_loss_and_learns(method):
    task = make_task(np.random.default_rng(0), d=12, k=10, n=40, true_rank=1)
    run = train_adapter(task, method, 2, np.random.default_rng(1), steps=60, lr=0.01)
    frozen, _ = mse_loss(task.X @ task.W0.T, task.Y)
    assert run.losses[0] == pytest.approx(frozen, rel=1e-12)
    assert run.losses[-1] < run.losses[0]
    assert run.trainable == 2 * (12 + 10) + (12 if method == "dora" else 0)


def test_loraplus_ratio_changes_only_b_rate():
    task = make_task(np.random.default_rng(2), d=8, k=8, n=30, true_rank=1)
    a = train_adapter(task, "lora", 2, np.random.default_rng(3), steps=20, ratio=1.0)
    b = train_adapter(task, "lora", 2, np.random.default_rng(3), steps=20, ratio=8.0)
    assert a.losses[0] == b.losses[0] and a.losses[-1] != b.losses[-1]


def test_targets():
    t = E.principal_task(np.random.default_rng(0), d=8, k=6, n=10, r=2, boost=0.5)
    U, S, Vt = np.linalg.svd(t.W0, full_matrices=False)
    assert np.allclose(np.linalg.svd(t.W0 + t.delta_true, compute_uv=False)[:2], 1.5 * S[:2])
    rows = E.rescaled_rows_task(np.random.default_rng(0), d=8, k=6, n=10)
    g = np.linalg.norm(rows.W0 + rows.delta_true, axis=1) / np.linalg.norm(rows.W0, axis=1)
    assert np.allclose((rows.W0 + rows.delta_true) / g[:, None], rows.W0)


def test_nf4_base_is_close_and_steps_to_caps():
    W0 = np.random.default_rng(4).normal(size=(16, 8))
    assert 0 < np.linalg.norm(nf4_base(W0) - W0) / np.linalg.norm(W0) < 0.15
    assert steps_to(np.array([1.0, 0.5, 0.001]), 0.01) == 2 and steps_to(np.array([1.0, 0.5]), 0.01) == 2


def test_experiments_return_their_claims_quickly_with_few_steps():
    assert len(E.rslora_experiment(seeds=(0, 1), high=8, steps=5)["claims"]) == 3
    assert len(E.pissa_experiment(seeds=(0, 1), steps=5)["claims"]) == 2
    assert len(E.loraplus_experiment(seeds=(0, 1), ratios=(2.0, 4.0), steps=5)["claims"]) == 2
    nf4 = E.nf4_experiment(seeds=(0, 1, 2), shape=(64, 64))
    assert nf4["claims"][0].verdict is Verdict.HOLDS and np.all(nf4["ratios"] < 1)


def test_summary_has_one_row_per_variant_with_dora_adding_d():
    verdicts = {v: "holds" for v in PAPER_REPORTS if v != "LoRA"}
    rows = summary_rows(verdicts, d=64, k=32, r=4)
    assert [r.variant for r in rows] == list(PAPER_REPORTS)
    by = {r.variant: r for r in rows}
    assert by["DoRA"].trainable == by["LoRA"].trainable + 64 == 4 * 96 + 64
    assert by["QLoRA (NF4 base)"].base_bytes == pytest.approx(64 * 32 * 4.126953125 / 8)
    text = format_summary(rows)
    assert "arXiv:2402.09353" in text and "holds" in text
