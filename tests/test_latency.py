"""The block stack behind lesson 04's latency table, and the timing helpers."""

import numpy as np
import pytest

from lora_course.lessons.l04_claims import control_interval, latency_claims, latency_summary
from lora_course.lessons.l04_cost_model import (
    extra_cost_features,
    fit_cost_model,
    flops_per_token,
    format_cost_model,
    seconds_per_mac,
)
from lora_course.lessons.l04_latency import (
    CONTROL,
    CaseTiming,
    blas_threads,
    format_table,
    measure_cases,
    paper_case,
    paper_overhead,
    statements,
)
from lora_course.measure.timing import Comparison, ratio_intervals
from lora_course.measure.verdicts import Verdict
from lora_course.toy.blocks import (
    GPT2_MEDIUM_STACK,
    StackConfig,
    adapter_module_params,
    bottleneck_for_budget,
    build_variants,
    merge_stack,
    scaled_budget,
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


def test_every_variant_holds_its_own_copy_of_the_same_frozen_weights():
    models = build_variants(CFG, np.random.default_rng(0), r=2, bottlenecks={"adapter_l": 3, "adapter_h": 2},
                            variants=("frozen", "lora", "merged", "adapter_l", "adapter_h"))
    frozen = models["frozen"].blocks
    for name, model in models.items():
        for i, (mine, ref) in enumerate(zip(model.blocks, frozen, strict=True)):
            assert mine.keys() == ref.keys()
            for key in ref:
                if name != "frozen":
                    assert not np.shares_memory(mine[key], ref[key]), (name, i, key)
                if not (name == "merged" and key in ("Wq", "Wv")):
                    assert np.array_equal(mine[key], ref[key]), (name, i, key)


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


def _case(batch, seq, factors, rounds=40, noise=0.01, seed=0, min_rounds=20):
    """A synthetic CaseTiming: frozen ~ 1 ms with noise, each variant = factor x frozen x (1 + noise)."""
    rng = np.random.default_rng(seed)
    base = 1e-3 * (1 + 0.2 * rng.random(rounds))            # load varies from round to round
    times = {"frozen": base} | {v: f * base * (1 + noise * rng.normal(size=rounds)) for v, f in factors.items()}
    comp = Comparison("frozen", times, ratio_intervals(times, "frozen", rng=rng), 1.0, 0.02, 1,
                      min_rounds=min_rounds)
    return CaseTiming(batch, seq, comp, paper_case(batch, seq, 4))


def _verdicts(claims):
    return {c.text.split(" (")[0] + (" " + c.text.rsplit(" at ", 1)[-1] if ") at " in c.text else ""): c.verdict
            for c in claims}


def test_claims_hold_on_clear_synthetic_timings():
    small = _case(1, 32, {"merged": 1.0, "lora": 1.2, "adapter_l": 1.15, "adapter_h": 1.3})
    large = _case(32, 128, {"merged": 1.0, "lora": 1.03, "adapter_l": 1.02, "adapter_h": 1.03}, seed=1)
    claims = latency_claims([large, small], {(1, 32): {"lora": 0.02, "adapter_h": 0.03}},
                            rng=np.random.default_rng(0))
    v = _verdicts(claims)
    assert v["merged LoRA costs what frozen costs 1 x 32"] is Verdict.HOLDS
    assert v["unmerged LoRA is slower than frozen 32 x 128"] is Verdict.HOLDS
    assert v["Adapter^H costs more than Adapter^L 1 x 32"] is Verdict.HOLDS
    assert v["Adapter^H's overhead shrinks from 1 x 32 to 32 x 128"] is Verdict.HOLDS
    assert v["Adapter^H at 1 x 32 costs more than arithmetic predicts"] is Verdict.HOLDS
    assert all(c.verdict is Verdict.HOLDS for c in claims)
    summary = latency_summary(claims)
    assert len(summary) == len(claims) and all(s.startswith("Holds in this run: ") for s in summary)
    assert "Holds in this run: Adapter^H costs more than Adapter^L at 1 x 32." in summary


def test_claims_fail_when_the_numbers_say_the_opposite():
    small = _case(1, 32, {"merged": 1.3, "lora": 0.9, "adapter_l": 1.3, "adapter_h": 1.1})
    large = _case(32, 128, {"merged": 1.0, "lora": 1.2, "adapter_l": 1.5, "adapter_h": 1.4}, seed=1)
    v = _verdicts(latency_claims([small, large], rng=np.random.default_rng(0)))
    assert v["merged LoRA costs what frozen costs 1 x 32"] is Verdict.FAILS
    assert v["unmerged LoRA is slower than frozen 1 x 32"] is Verdict.FAILS
    assert v["Adapter^H costs more than Adapter^L 1 x 32"] is Verdict.FAILS
    assert v["Adapter^L's overhead shrinks from 1 x 32 to 32 x 128"] is Verdict.FAILS


def test_noise_turns_verdicts_into_not_resolved_never_into_the_opposite():
    # the truth: Adapter^H 10 % above Adapter^L; under heavy noise with few rounds the verdict may not resolve,
    # but over many synthetic machines it is never "does not hold"
    seen = set()
    for seed in range(40):
        small = _case(1, 32, {"merged": 1.0, "lora": 1.1, "adapter_l": 1.1, "adapter_h": 1.21}, rounds=20,
                      noise=0.15, seed=seed)
        large = _case(32, 128, {"merged": 1.0, "lora": 1.01, "adapter_l": 1.01, "adapter_h": 1.01}, rounds=20,
                      noise=0.15, seed=100 + seed)
        v = _verdicts(latency_claims([small, large], rng=np.random.default_rng(seed)))
        seen.add(v["Adapter^H costs more than Adapter^L 1 x 32"])
        assert v["Adapter^H costs more than Adapter^L 1 x 32"] is not Verdict.FAILS
        assert v["merged LoRA costs what frozen costs 1 x 32"] is not Verdict.FAILS
    assert Verdict.UNRESOLVED in seen, "this much noise should leave some runs unresolved"


def test_fewer_rounds_than_the_minimum_decide_nothing():
    small = _case(1, 32, {"merged": 1.0, "lora": 1.5, "adapter_l": 1.3, "adapter_h": 1.6}, rounds=10)
    large = _case(32, 128, {"merged": 1.0, "lora": 1.01, "adapter_l": 1.01, "adapter_h": 1.01}, rounds=10, seed=1)
    claims = latency_claims([small, large], rng=np.random.default_rng(0))
    assert {c.verdict for c in claims} == {Verdict.TOO_FEW}, "ten clear rounds are still fewer than twenty"
    assert all(s.startswith("Not resolved: too few samples for a verdict: ") for s in latency_summary(claims))
    enough = _case(1, 32, {"merged": 1.0, "lora": 1.5, "adapter_l": 1.3, "adapter_h": 1.6}, rounds=10,
                   min_rounds=5)
    assert _verdicts(latency_claims([enough], rng=np.random.default_rng(0)))[
        "unmerged LoRA is slower than frozen 1 x 32"] is Verdict.HOLDS


def test_a_control_that_misses_one_makes_every_verdict_too_busy():
    clear = {"merged": 1.0, "lora": 1.5, "adapter_l": 1.3, "adapter_h": 1.6}
    quiet = _case(1, 32, clear | {CONTROL: 1.0})
    busy = _case(1, 32, clear | {CONTROL: 1.08})           # two copies of one computation 8 % apart
    assert all(c.verdict is Verdict.HOLDS for c in latency_claims([quiet], rng=np.random.default_rng(0)))
    claims = latency_claims([busy], rng=np.random.default_rng(0))
    assert {c.verdict for c in claims} == {Verdict.BUSY}
    assert latency_summary(claims)[0].startswith("Not resolved: this machine was too busy to tell: ")
    assert not control_interval([busy], rng=np.random.default_rng(0)).contains(1.0)
    assert control_interval([_case(1, 32, clear)], rng=np.random.default_rng(0)) is None


def test_table_statements_and_paper_column():
    small = _case(1, 32, {"merged": 1.0, "adapter_h": 1.5})
    table = format_table([small], {"frozen": "Fine-Tune/LoRA merged"})
    assert "Fine-Tune/LoRA merged" in table and "baseline" in table and "+30.3 %" in table
    assert "+50." in table and "[" in table
    assert "40 interleaved rounds" in statements([small])
    assert paper_case(2, 32, 4) is None and paper_overhead((1, 128), "adapter_h") == pytest.approx(25.8 / 19.8 - 1)
    assert paper_overhead((1, 128), "merged") == 0.0 and paper_overhead(None, "lora") is None


def test_cost_model_recovers_synthetic_costs():
    per_mac, per_op = 1e-9, 5e-6
    cfg = StackConfig(d_model=16, n_heads=2, n_layers=2)
    cases = []
    for batch, seq in ((1, 8), (16, 64)):
        n = batch * seq
        frozen_s = per_mac * flops_per_token(16, 64, 2, seq) * n
        factors = {v: 1 + (per_mac * extra_cost_features(v, n, 16, 2, 4, 3)[0]
                           + per_op * extra_cost_features(v, n, 16, 2, 4, 3)[1]) / frozen_s
                   for v in ("lora", "adapter_l", "adapter_h")}
        times = {"frozen": np.full(5, frozen_s)} | {v: np.full(5, f * frozen_s) for v, f in factors.items()}
        comp = Comparison("frozen", times, ratio_intervals(times, "frozen", rng=np.random.default_rng(0)), 1.0, 0.02, 1)
        cases.append(CaseTiming(batch, seq, comp))

    def features(v, case):
        return extra_cost_features(v, case.tokens, 16, 2, 4, 3)

    model = fit_cost_model(cases, features, per_mac)
    assert model.per_mac == pytest.approx(per_mac) and model.per_op == pytest.approx(per_op)
    assert 0 < seconds_per_mac(64, 16, np.random.default_rng(0), rounds=3) < 1e-6
    text = format_cost_model(model, cases, features)
    assert "µs fixed cost per numpy operation" in text and "unmerged LoRA" in text
    assert cfg.d_ff == 64
    # LoRA adds 2 x 2 r D multiply-adds per token per block, and 2 x LORA_OPS operations per block
    assert list(extra_cost_features("lora", 10, 16, 2, 4)) == [2 * 2 * 2 * 10 * 16 * 4, 2 * 2 * 10]
    assert not extra_cost_features("merged", 10, 16, 2).any()
    with pytest.raises(ValueError, match="variant: expected one of"):
        extra_cost_features("prefix", 10, 16, 2)


def test_measure_cases_on_a_real_stack_and_flops():
    models = build_variants(CFG, np.random.default_rng(0), variants=("frozen", "merged", "lora"))
    seen = []
    cases = measure_cases(models, [(1, 4), (2, 8)], np.random.default_rng(0), min_rounds=6, max_rounds=6,
                          progress=seen.append)
    assert [c.label for c in cases] == ["1 x 4", "2 x 8"] and seen == ["batch 1 x seq 4", "batch 2 x seq 8"]
    assert all(c.comparison.rounds == 6 and c.overhead("frozen").estimate == 1.0 for c in cases)
    assert all(c.comparison.clock == "thread CPU time" and CONTROL in c.comparison.times for c in cases)
    assert "by thread CPU time" in statements(cases) and "A/A control" in statements(cases)
    with pytest.raises(ValueError, match="threads: thread CPU time counts this thread only"):
        measure_cases(models, [(1, 4)], np.random.default_rng(0), threads=2)
    with pytest.raises(ValueError, match="models: 'frozen_copy' is the name of the A/A control"):
        measure_cases(models | {CONTROL: models["frozen"]}, [(1, 4)], np.random.default_rng(0))
    with pytest.raises(ValueError, match="expected a 'frozen' baseline"):
        measure_cases({"lora": models["lora"]}, [(1, 4)], np.random.default_rng(0))
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
