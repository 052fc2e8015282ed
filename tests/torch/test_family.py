"""Lesson 07's variants against PEFT in float64 (every row within 1e-10 relative) and NF4 against bitsandbytes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lora_course.nf4 import NF4_PUBLISHED
from lora_course.torch_bridge import family as F
from lora_course.torch_bridge.agreement import OneLinear

SEEDS = (0, 1, 2)


def _assert_agree(rows):
    assert rows and all(row.agrees for row in rows), [(r.quantity, r.max_rel) for r in rows if not r.agrees]


@pytest.mark.parametrize("seed", SEEDS)
def test_rslora_matches_peft_use_rslora(seed):
    _assert_agree(F.rslora_agreement(seed))


@pytest.mark.parametrize("seed", SEEDS)
def test_dora_matches_peft_use_dora(seed):
    rows = F.dora_agreement(seed)
    assert {"DoRA: forward H", "DoRA: dm", "DoRA: merged W", "DoRA: dA (norm held constant)"} <= {
        r.quantity for r in rows}
    _assert_agree(rows)


@pytest.mark.parametrize("seed", SEEDS)
def test_pissa_layer_matches_peft_in_float64_and_its_init_to_float32_precision(seed):
    init_rows, layer_rows = F.pissa_agreement(seed)
    _assert_agree(layer_rows)
    # PEFT takes PiSSA's SVD in float32: the start agrees to float32 precision (signs fixed on both sides)
    assert all(row.max_rel < 1e-5 for row in init_rows), [(r.quantity, r.max_rel) for r in init_rows]


def test_peft_refuses_pissa_in_float64():
    from peft import LoraConfig, get_peft_model

    with pytest.raises(TypeError, match="float32"):
        get_peft_model(OneLinear(np.eye(4)), LoraConfig(r=2, target_modules=["lin"], init_lora_weights="pissa"))


@pytest.mark.parametrize("seed", SEEDS)
def test_loraplus_step_matches_peft_create_loraplus_optimizer(seed):
    _assert_agree(F.loraplus_agreement(seed))


@pytest.mark.parametrize("seed", SEEDS)
def test_nf4_codes_and_weight_match_bitsandbytes(seed):
    out = F.nf4_agreement(seed)
    assert out["codes_differing"] == 0
    assert out["absmax"].max_abs == 0.0
    assert out["levels"].max_abs <= 2 * np.finfo(np.float32).eps
    assert out["dequantised"].max_rel <= 2 * np.finfo(np.float32).eps


def test_nf4_matches_bitsandbytes_generic_path_when_blocks_straddle_rows():
    out = F.nf4_agreement(3, shape=(64, 96), generic=True)
    assert out["codes_differing"] == 0 and out["absmax"].max_abs == 0.0
    assert out["dequantised"].max_rel <= 2 * np.finfo(np.float32).eps


def test_bitsandbytes_levels_are_the_published_table():
    _, _, _, levels = F.bitsandbytes_nf4(np.ones((1, 64), dtype=np.float32))
    assert np.array_equal(levels, np.array(NF4_PUBLISHED, dtype=np.float32))
    assert torch.float32 == torch.from_numpy(levels).dtype
