"""The block stack behind lesson 04's latency table, and the timing helpers."""

import numpy as np
import pytest

from lora_course.blocks import (
    GPT2_MEDIUM_STACK,
    StackConfig,
    adapter_module_params,
    bottleneck_for_budget,
    build_variants,
    merge_stack,
    scaled_budget,
)
from lora_course.latency import (
    blas_threads,
    flops_per_token,
    format_table,
    measure_grid,
    paper_case,
    quartiles,
    summarize,
    time_interleaved,
)

CFG = StackConfig(d_model=16, n_heads=2, n_layers=2)


def test_merged_lora_stack_equals_unmerged_and_frozen_weights_are_untouched():
    models = build_variants(CFG, np.random.default_rng(0), r=2, variants=("frozen", "lora", "merged"))
    X = np.random.default_rng(1).normal(size=(3, 5, 16))
    before = [p["Wq"].copy() for p in models["frozen"].blocks]
    lora, merged, frozen = (models[v].forward(X) for v in ("lora", "merged", "frozen"))
    assert lora.shape == (3, 5, 16)
    assert np.max(np.abs(lora - merged)) < 1e-12, "merging W0 + scale B A must not change the output"
    assert np.max(np.abs(lora - frozen)) > 1e-6, "the LoRA pairs are non-zero, so the output must move"
    assert all(np.array_equal(b, p["Wq"]) for b, p in zip(before, models["frozen"].blocks, strict=True))
    assert models["merged"].extra_params == 0 and models["lora"].extra_params == 2 * 2 * 2 * (16 + 16)


def test_adapter_variants_change_the_output_and_count_their_parameters():
    models = build_variants(CFG, np.random.default_rng(0), bottlenecks={"adapter_l": 3, "adapter_h": 2})
    X = np.random.default_rng(1).normal(size=(2, 4, 16))
    base = models["frozen"].forward(X)
    for v, per_block, m, norm in (("adapter_l", 1, 3, True), ("adapter_h", 2, 2, False)):
        assert not np.allclose(models[v].forward(X), base)
        assert models[v].extra_params == CFG.n_layers * per_block * adapter_module_params(16, m, norm)


def test_bottleneck_follows_the_paper_budget_on_gpt2_medium():
    # 11M adapter parameters over 24 blocks of width 1024: m ~ 111 for two adapters a block, ~222 for one
    assert bottleneck_for_budget(11e6, GPT2_MEDIUM_STACK, "adapter_h") == 111
    assert bottleneck_for_budget(11e6, GPT2_MEDIUM_STACK, "adapter_l") == 222
    for v, per in (("adapter_h", 2), ("adapter_l", 1)):
        m = bottleneck_for_budget(11e6, GPT2_MEDIUM_STACK, v)
        total = 24 * per * adapter_module_params(1024, m, v == "adapter_l")
        assert total <= 11e6 < 24 * per * adapter_module_params(1024, m + 1, v == "adapter_l")
    assert scaled_budget(GPT2_MEDIUM_STACK) == pytest.approx(11e6)
    assert GPT2_MEDIUM_STACK.n_params == 24 * (12 * 1024**2 + 4096 + 1024 + 4 * 1024)


@pytest.mark.parametrize("kwargs, match", [
    ({"d_model": 10, "n_heads": 3}, "n_heads: expected a divisor of d_model = 10, got 3"),
    ({"n_layers": 0}, "n_layers: expected an integer >= 1, got 0"),
])
def test_config_rejects_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        StackConfig(**kwargs)


def test_stack_rejects_wrong_width_and_unknown_variant():
    models = build_variants(CFG, np.random.default_rng(0), variants=("frozen",))
    with pytest.raises(ValueError, match=r"expected shape \(\?, \?, 16\).*got \(2, 3, 8\)"):
        models["frozen"].forward(np.zeros((2, 3, 8)))
    with pytest.raises(ValueError, match="variants: expected names among"):
        build_variants(CFG, np.random.default_rng(0), variants=("prefix",))
    with pytest.raises(ValueError, match="expected one dict per block"):
        merge_stack(models["frozen"].blocks, [])


def test_time_interleaved_and_summary():
    calls = []
    times = time_interleaved({"frozen": lambda: calls.append("f"), "lora": lambda: calls.append("l")}, 4, warmup=1)
    assert calls.count("f") == calls.count("l") == 5 and calls[2:4] == ["f", "l"] and calls[4:6] == ["l", "f"]
    assert times["frozen"].shape == (4,) and np.all(times["frozen"] >= 0)
    fake = {"frozen": np.array([1.0, 2.0, 1.0]), "adapter_h": np.array([1.5, 3.0, 1.5])}
    rows = summarize(fake, 1, 32, paper_case=paper_case(1, 32, 4))
    row = {r.variant: r for r in rows}
    assert row["adapter_h"].overhead == pytest.approx(0.5) and row["adapter_h"].overhead_iqr == pytest.approx(0)
    assert row["frozen"].median_ms == pytest.approx(1000.0)
    assert row["adapter_h"].paper_ms == 25.8 and row["adapter_h"].paper_overhead == pytest.approx(25.8 / 19.8 - 1)
    assert "+50.0%" in format_table(rows) and "+30.3%" in format_table(rows)
    assert paper_case(2, 32, 4) is None and quartiles(np.arange(5.0)) == (1.0, 2.0, 3.0)
    with pytest.raises(ValueError, match="expected a 'frozen' entry"):
        summarize({"lora": np.ones(2)}, 1, 1)


def test_measure_grid_rows_and_flops():
    models = build_variants(CFG, np.random.default_rng(0))
    seen = []
    rows = measure_grid(models, [(1, 4), (2, 8)], repeats=2, rng=np.random.default_rng(0), progress=seen.append)
    assert len(rows) == 8 and seen == ["batch 1 x seq 4", "batch 2 x seq 8"]
    assert all(r.overhead == 0 for r in rows if r.variant == "frozen")
    # LoRA adds 2 x 2 r D multiply-adds per token per block to 4 D^2 + 2 T D + 2 D F
    base = flops_per_token(16, 64, 2, 8)
    assert base == 2 * (4 * 256 + 2 * 8 * 16 + 2 * 16 * 64)
    assert flops_per_token(16, 64, 2, 8, "lora", r=4) - base == 2 * 2 * 2 * 4 * 16


def test_blas_threads_restores_the_setting():
    with blas_threads(1) as n:
        assert n == 1
        a = np.ones((50, 50))
        assert np.allclose(a @ a, 50.0)
    with pytest.raises(ValueError, match="n: expected an integer >= 1, got 0"):
        with blas_threads(0):
            pass
