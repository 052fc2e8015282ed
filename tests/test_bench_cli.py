"""``lora-course bench`` prints the latency table."""

import pytest

from lora_course.bench_cli import cases_from
from lora_course.cli import main


def test_bench_prints_table_with_paper_beside(capsys):
    code = main(["bench", "--batch-sizes", "1", "--seq-lens", "32", "--repeats", "2", "--warmup", "0",
                 "--d-model", "16", "--n-layers", "1", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    for text in ("Fine-Tune/LoRA merged", "LoRA unmerged", "Adapter^L", "Adapter^H", "19.8 ms", "+30.3%"):
        assert text in out


def test_cases_product_and_paired():
    assert cases_from([1, 2], [8, 16], paired=False) == [(1, 8), (1, 16), (2, 8), (2, 16)]
    assert cases_from([1, 2], [8, 16], paired=True) == [(1, 8), (2, 16)]
    with pytest.raises(ValueError, match="expected as many batch sizes as sequence lengths, got 1 and 2"):
        cases_from([1], [8, 16], paired=True)


def test_bad_options_exit_with_a_message(capsys):
    assert main(["bench", "--repeats", "0", "--no-progress"]) == 2
    assert "--repeats: expected an integer >= 1, got 0" in capsys.readouterr().err
    assert main(["bench", "--batch-sizes", "0", "--no-progress"]) == 2
