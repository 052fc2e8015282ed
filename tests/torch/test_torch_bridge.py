"""Appendix 06's torch bridge (collected only by `make test-torch`, i.e. pytest --torch)."""

from __future__ import annotations

import argparse
import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")       # nothing here may reach a model hub
torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from lora_course.cli import bench as bench_cli  # noqa: E402
from lora_course.layer import scale_factor  # noqa: E402
from lora_course.torch_bridge import agreement, bench, bench_report  # noqa: E402
from lora_course.torch_bridge.lora import LoRALinear, check_lora_linear  # noqa: E402
from lora_course.torch_bridge.toy import from_numpy  # noqa: E402
from lora_course.toy.blocks import StackConfig  # noqa: E402
from lora_course.toy.transformer import ToyConfig, init_params, model_forward  # noqa: E402


def test_toy_transformer_matches_numpy():
    cfg = ToyConfig(n_layers=2, d_model=32, n_heads=4, d_ff=64)
    rng = np.random.default_rng(1)
    params = init_params(cfg, rng)
    tokens = rng.integers(0, cfg.vocab_size, size=(5, cfg.seq_len))
    ours, _ = model_forward(params, tokens, cfg)
    with torch.no_grad():
        theirs = from_numpy(params, cfg)(torch.from_numpy(tokens)).numpy()
    np.testing.assert_allclose(theirs, ours, rtol=1e-10, atol=1e-12)


def test_toy_transformer_rejects_wrong_params():
    cfg = ToyConfig()
    params = init_params(cfg, np.random.default_rng(0))
    with pytest.raises(ValueError, match="missing"):
        from_numpy({k: v for k, v in params.items() if k != "l0.Wq"}, cfg)
    bad = dict(params, **{"l0.Wq": np.zeros((3, 3))})
    with pytest.raises(ValueError, match=r"params\['l0.Wq'\]: expected shape"):
        from_numpy(bad, cfg)


@pytest.mark.parametrize("seed", [0, 3])
def test_every_agreement_row_holds(seed):
    rows = agreement.layer_agreement(seed=seed) + agreement.model_agreement(seed=seed)
    assert len(rows) == 25
    bad = [row for row in rows if not (row.max_abs < 1e-10 and row.max_rel < 1e-10)]
    assert not bad, agreement.raw_table(bad)
    table = agreement.verdict_table(rows)
    assert "FAILS" not in table and table.count("< 1e-10") == 2 * len(rows)


def test_agreement_detects_a_wrong_scale():
    """The comparison is not vacuous: PEFT with another alpha disagrees with our layer far above 1e-10."""
    rng = np.random.default_rng(0)
    W0, A, B, X = rng.normal(size=(6, 5)), rng.normal(size=(2, 5)), rng.normal(size=(6, 2)), rng.normal(size=(3, 5))
    ours = X @ W0.T + scale_factor(2, 4.0) * X @ A.T @ B.T
    wrong = agreement.peft_linear(W0, A, B, r=2, alpha=8.0)(torch.from_numpy(X))
    assert agreement.compare("H", ours, wrong).max_rel > 1e-3
    right = agreement.peft_linear(W0, A, B, r=2, alpha=4.0)(torch.from_numpy(X))
    assert agreement.compare("H", ours, right).agrees


def test_verdict_table_flags_a_failure():
    rows = [agreement.Row("fine", 1e-15, 1e-16), agreement.Row("broken", 2e-3, 1e-4)]
    table = agreement.verdict_table(rows)
    assert "2.0e-03 (FAILS)" in table and "1.0e-04 (FAILS)" in table


def test_reference_layer_passes_its_own_check(capsys):
    assert check_lora_linear(LoRALinear) == []
    assert "❌" not in capsys.readouterr().out


class _NoScale(LoRALinear):
    def forward(self, x):
        return self.base(x) + (x @ self.A.T) @ self.B.T


class _Broken:
    def __init__(self, base, r, alpha):
        raise NotImplementedError("fill in this part")


class _TrainableBase(LoRALinear):
    def __init__(self, base, r, alpha):
        super().__init__(base, r, alpha)
        base.weight.requires_grad_(True)


@pytest.mark.parametrize("cls, expected", [(_NoScale, "forward equals"), (_Broken, "construct"),
                                           (_TrainableBase, "W0 is frozen")])
def test_check_catches_student_mistakes(cls, expected, capsys):
    problems = check_lora_linear(cls)
    assert problems and any(p.startswith(expected) for p in problems), problems
    assert "❌" in capsys.readouterr().out


def test_rslora_scale_matches_peft():
    rng = np.random.default_rng(0)
    model = agreement.peft_linear(rng.normal(size=(6, 5)), rng.normal(size=(4, 5)), rng.normal(size=(6, 4)),
                                  r=4, alpha=8.0, rslora=True)
    assert model.base_model.model.lin.scaling["default"] == scale_factor(4, 8.0, rslora=True) == 4.0


SMALL = StackConfig(32, 2, 2)


def test_torch_variants_share_weights_and_merge_correctly():
    stacks, sizes = bench.build_torch_variants(SMALL, bench.budget_for((16, 256), SMALL), dtype=torch.float64,
                                               device="cpu", seed=0)
    assert set(stacks) == set(bench.VARIANTS)
    assert stacks["lora"].blocks[0]["Wk"] is stacks["base"].blocks[0]["Wk"]     # one set of frozen weights
    x = torch.randn(2, 8, SMALL.d_model, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        merged, lora, base = (stacks[v].forward(x) for v in ("merged", "lora", "base"))
    torch.testing.assert_close(merged, lora, rtol=1e-10, atol=1e-12)
    assert (merged - base).abs().max() > 1e-6                                   # the LoRA update is not zero
    assert stacks["base"].extra_params == stacks["merged"].extra_params == 0
    assert stacks["lora"].extra_params == SMALL.n_layers * 2 * 4 * 2 * SMALL.d_model
    assert sizes["adapter_h"] <= sizes["adapter_l"]


def test_paper_budgets_at_gpt2_medium_shape():
    cfg = bench.GPT2_MEDIUM_CONFIG
    assert (cfg.n_layers, cfg.d_model, cfg.n_heads) == (24, 1024, 16)
    from lora_course.toy.blocks import bottleneck_for_budget
    big = {v: bottleneck_for_budget(bench.budget_for((16, 256), cfg), cfg, v) for v in ("adapter_l", "adapter_h")}
    small = {v: bottleneck_for_budget(bench.budget_for((32, 512), cfg), cfg, v) for v in ("adapter_l", "adapter_h")}
    assert big == {"adapter_l": 222, "adapter_h": 111} and small == {"adapter_l": 8, "adapter_h": 4}


def test_table1_on_cpu_reports_intervals_and_labels_cpu_figures():
    results = bench.table1("cpu", dtypes=("fp32",), config=SMALL, cases=((2, 8), (1, 8), (1, 4)), max_seconds=0.05,
                           min_rounds=3, max_rounds=3)
    assert [(r.batch, r.seq) for r in results] == [(2, 8), (1, 8), (1, 4)]
    for res in results:
        assert res.rounds == 3 and res.threads == 1
        assert all(iv.lo <= iv.estimate <= iv.hi for iv in res.ratio.values())
        assert res.ratio["base"].estimate == 1.0
    report = bench_report.format_report(results, torch.device("cpu"), SMALL)
    assert "NO GPU" in report and "not GPU figures" in report and "1449.4" in report
    assert "| fp32 | 2 x 8 | LoRA merged |" in bench_report.markdown_table(results)


def test_table1_refuses_bad_arguments():
    with pytest.raises(ValueError, match="dtypes"):
        bench.table1("cpu", dtypes=("fp8",))
    with pytest.raises(ValueError, match="cases"):
        bench.table1("cpu", cases=((1, 4),))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device: expected a machine with a CUDA GPU"):
            bench.table1("cuda")


def test_bench_cli_torch_backend(capsys):
    parser = argparse.ArgumentParser()
    bench_cli.add_arguments(parser)
    args = parser.parse_args(["--backend", "torch", "--quick", "--no-progress"])
    assert bench_cli.run(args) == 0
    out = capsys.readouterr().out
    assert "NO GPU" in out and "Adapter^H" in out and "paper columns" in out


def test_committed_gpu_results_load_and_give_the_papers_verdicts():
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs"
    for run in (1, 2):
        environment, results = bench_report.load_results(docs / f"table1_gpu_run{run}.json")
        assert "NVIDIA H200" in environment
        assert [(r.dtype, r.batch, r.seq) for r in results] == [(d, b, s) for d in ("fp32", "fp16")
                                                                for b, s in bench.PAPER_CASES]
        lines = bench_report.findings(results)
        assert lines[0].startswith("merged LoRA = base within 3 % in every case: True")
        assert all(line.endswith("True") for line in lines[1:]), lines


def test_findings_report_a_failing_claim():
    results = bench.table1("cpu", dtypes=("fp32",), config=SMALL, cases=((2, 8), (1, 8), (1, 4)), max_seconds=0.05,
                           min_rounds=3, max_rounds=3)
    from lora_course.measure.timing import Interval
    slow = [bench.CaseResult(**{**r.__dict__, "ratio": {**r.ratio, "merged": Interval(1.5, 1.4, 1.6)}})
            for r in results]
    assert "in every case: False" in bench_report.findings(slow)[0]
