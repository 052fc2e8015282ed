"""Storage of full fine-tunes versus a shared base plus LoRA deltas (lesson 00's calculator)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lora_course.lessons.l00_storage import (
    MODEL_PRESETS,
    calculator_rows,
    format_storage_table,
    human_bytes,
    human_count,
    storage_costs,
    storage_table,
)
from lora_course.paper import GPT3


def gpt3_costs(n_tasks=100):
    return storage_costs(GPT3["n_params"], n_tasks, GPT3["d_model"], GPT3["n_layers"], 2, 4)


def test_gpt3_q_v_rank4_reproduces_the_paper_scale_figures():
    costs = gpt3_costs()
    assert costs.lora_params_per_task == 2 * 96 * 2 * 12288 * 4 == 18_874_368
    assert costs.lora_per_task == 37_748_736
    assert human_bytes(costs.full_per_task) == "350 GB"
    assert human_bytes(costs.full_total) == "35 TB"
    assert human_bytes(costs.lora_per_task) == "37.7 MB"
    assert human_bytes(costs.lora_total) == "354 GB"
    assert costs.saving == pytest.approx(35e12 / (350e9 + 100 * 37_748_736))


def test_table_rows_and_adapter_row():
    rows = storage_table(175e9, 100, 12288, 96, 2, 4, adapter_params=7.1e6)
    assert [row.method for row in rows] == ["Full fine-tune", "Adapters", "LoRA (r=4)"]
    assert rows[1].bytes_per_task == pytest.approx(14.2e6)
    assert rows[1].total_bytes == pytest.approx(350e9 + 100 * 14.2e6)
    assert rows[2].params_per_task == 18_874_368
    assert "LoRA (r=4)" in format_storage_table(rows) and "35 TB" in format_storage_table(rows)
    assert len(storage_table(175e9, 1, 12288, 96, 2, 4)) == 2


@settings(max_examples=40, deadline=None)
@given(model=st.sampled_from(sorted(MODEL_PRESETS)), n_tasks=st.integers(1, 1000), r=st.integers(1, 64),
       matrices=st.integers(1, 4))
def test_calculator_is_consistent(model, n_tasks, r, matrices):
    full, lora = calculator_rows(model, n_tasks, r, matrices)
    shape = MODEL_PRESETS[model]
    assert lora.params_per_task == matrices * shape["n_layers"] * 2 * shape["d_model"] * r
    assert full.total_bytes == pytest.approx(n_tasks * full.bytes_per_task)
    assert lora.total_bytes == pytest.approx(full.bytes_per_task + n_tasks * lora.bytes_per_task)
    # with a single task LoRA stores more (the base plus a delta); sharing pays off from the second task
    assert (lora.total_bytes < full.total_bytes) == (n_tasks > 1)


def test_lora_storage_grows_linearly_in_r_and_tasks():
    base = calculator_rows("GPT-3 (175B)", 10, 4, 2)[1]
    assert calculator_rows("GPT-3 (175B)", 10, 8, 2)[1].bytes_per_task == 2 * base.bytes_per_task
    assert calculator_rows("GPT-3 (175B)", 10, 4, 4)[1].bytes_per_task == 2 * base.bytes_per_task
    extra = calculator_rows("GPT-3 (175B)", 20, 4, 2)[1].total_bytes - base.total_bytes
    assert extra == pytest.approx(10 * base.bytes_per_task)


def test_bad_input_names_expected_and_received():
    with pytest.raises(ValueError, match="model: expected one of .* got 'GPT-5'"):
        calculator_rows("GPT-5", 1, 4, 2)
    with pytest.raises(ValueError, match="r: expected 1 <= r <= min"):
        calculator_rows("BERT-base (110M)", 1, 769, 2)
    with pytest.raises(ValueError, match="n_tasks: expected an integer >= 1, got 0"):
        storage_costs(1e9, 0, 1024, 24, 2, 4)
    with pytest.raises(ValueError, match="adapter_params: expected a positive parameter count, got -1"):
        storage_table(1e9, 1, 1024, 24, 2, 4, adapter_params=-1)


@pytest.mark.parametrize(("n", "text"), [(999, "999 B"), (1000, "1 kB"), (37_748_736, "37.7 MB"),
                                         (3.5e13, "35 TB"), (2e18, "2,000 PB"),
                                         (999.6, "1 kB"), (999_600, "1 MB"), (999.4, "999 B")])
def test_human_bytes(n, text):
    assert human_bytes(n) == text


@pytest.mark.parametrize(("n", "text"), [(175e9, "175B"), (18_874_368, "18.9M"), (98_304, "98.3k"), (12, "12")])
def test_human_count(n, text):
    assert human_count(n) == text


def test_presets_are_sane():
    for name, shape in MODEL_PRESETS.items():
        # a Transformer's attention + MLP weights are about 12 L d^2; embeddings add the rest
        assert 12 * shape["n_layers"] * shape["d_model"] ** 2 <= shape["n_params"] * 1.05, name
    assert np.isclose(MODEL_PRESETS["GPT-3 (175B)"]["n_params"], 175e9)
