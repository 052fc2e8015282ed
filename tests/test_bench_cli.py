"""``lora-course bench`` prints the overheads with their intervals, the verdicts and the cost model."""

import pytest

from lora_course.cli.bench import cases_from
from lora_course.cli.main import main


def test_bench_prints_intervals_verdicts_and_cost_model(capsys):
    code = main(["bench", "--batch-sizes", "1", "--seq-lens", "8", "32", "--min-rounds", "3", "--max-rounds", "3",
                 "--d-model", "16", "--n-layers", "1", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    for text in ("Fine-Tune/LoRA merged", "LoRA merged", "LoRA unmerged", "Adapter^L", "Adapter^H", "+30.3 %",
                 "95 % interval", "merged / frozen = ", "3 interleaved rounds", "BLAS threads 1", "Claims (",
                 "merged LoRA costs what frozen costs", "fixed cost per numpy operation"):
        assert text in out, text
    assert any(v in out for v in ("holds", "does not hold", "not resolved at this noise level"))


def test_cases_product_and_paired():
    assert cases_from([1, 2], [8, 16], paired=False) == [(1, 8), (1, 16), (2, 8), (2, 16)]
    assert cases_from([1, 2], [8, 16], paired=True) == [(1, 8), (2, 16)]
    with pytest.raises(ValueError, match="expected as many batch sizes as sequence lengths, got 1 and 2"):
        cases_from([1], [8, 16], paired=True)


def test_bad_options_exit_with_a_message(capsys):
    assert main(["bench", "--min-rounds", "0", "--no-progress"]) == 2
    assert "--min-rounds: expected an integer >= 1, got 0" in capsys.readouterr().err
    assert main(["bench", "--target", "2", "--no-progress"]) == 2
    assert "--target: expected a half-width in (0, 1)" in capsys.readouterr().err
    assert main(["bench", "--max-rounds", "2", "--min-rounds", "5", "--no-progress"]) == 2
    assert main(["bench", "--batch-sizes", "0", "--no-progress"]) == 2


def test_bench_says_which_clock_and_reports_the_control(capsys):
    code = main(["bench", "--batch-sizes", "1", "--seq-lens", "8", "--min-rounds", "5", "--max-rounds", "5",
                 "--d-model", "16", "--n-layers", "1", "--no-progress", "--total-seconds", "5"])
    out = capsys.readouterr().out
    assert code == 0
    assert "clock: thread CPU time (claims about compute)" in out and "A/A control, all cases pooled" in out
    assert "frozen again (A/A copy)" in out
    assert main(["bench", "--threads", "2", "--no-progress"]) == 2
    assert "--threads: thread CPU time counts the timing thread only" in capsys.readouterr().err
    assert main(["bench", "--total-seconds", "0", "--no-progress"]) == 2
