"""`lora-course reproduce` at the tiny setting prints the tables and saves the figures."""

import json

from lora_course.cli.main import main


def test_reproduce_tiny_prints_tables_and_saves_figures(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["reproduce", "--setting", "tiny", "--steps", "3", "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    for heading in ("Table 5", "Table 6", "Baselines", "Amplification", "Wq,Wk,Wv,Wo", "paper WikiSQL"):
        assert heading in text
    assert (out / "subspace_similarity.png").stat().st_size > 1000
    assert (out / "rank_sweep.png").stat().st_size > 1000
    results = json.loads((out / "results.json").read_text())
    assert results["setting"]["steps"] == 3 and len(results["runs"]) == 13
    assert "The paper's findings on this run" in text and len(results["claims"]) == 11
    assert all(c["verdict"] == "not resolved: too few samples for a verdict" for c in results["claims"]), \
        "1 seed: no interval over seeds, so nothing is decided"


def test_reproduce_rejects_bad_numbers(tmp_path, capsys):
    assert main(["reproduce", "--setting", "tiny", "--seeds", "0", "--out", str(tmp_path)]) == 2
    assert "--seeds" in capsys.readouterr().err
