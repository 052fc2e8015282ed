"""NF4: the 16 levels equal the published table to float32 precision; quantisation picks the nearest level per
block; dequantisation inverts it to half a level gap; double quantisation's storage is the paper's 4.127 bits."""

import numpy as np
import pytest

from lora_course.nf4 import (
    NF4_PUBLISHED,
    bits_per_parameter,
    dequantize_blockwise,
    double_dequantize,
    double_quantize,
    nf4_levels,
    quantize_blockwise,
)


def test_levels_equal_the_published_table_to_float32_precision():
    levels = nf4_levels()
    assert levels.shape == (16,) and levels[7] == 0.0 and levels[0] == -1.0 and levels[-1] == 1.0
    assert np.max(np.abs(levels - np.array(NF4_PUBLISHED))) <= 2 * np.finfo(np.float32).eps
    assert np.all(np.diff(levels) > 0)


def test_codes_are_the_nearest_level_of_each_block():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(4, 48))
    levels = nf4_levels()
    codes, absmax = quantize_blockwise(W, levels, 64)
    assert codes.shape == (W.size,) and absmax.shape == (3,) and codes.dtype == np.uint8
    blocks = W.ravel().reshape(3, 64)
    assert np.allclose(absmax, np.abs(blocks).max(axis=1))
    scaled = blocks / absmax[:, None].astype(float)
    want = np.argmin(np.abs(scaled[..., None] - levels), axis=-1).ravel()
    assert np.array_equal(codes, want)


@pytest.mark.parametrize("shape", [(8, 8), (3, 50), (130,)])
def test_round_trip_error_is_at_most_half_the_largest_gap(shape):
    W = np.random.default_rng(1).normal(size=shape)
    levels = nf4_levels()
    codes, absmax = quantize_blockwise(W, levels, 64)
    W_hat = dequantize_blockwise(codes, absmax, levels, shape, 64)
    per_entry = np.repeat(absmax.astype(float), 64)[:W.size].reshape(shape)
    assert np.all(np.abs(W_hat - W) <= per_entry * np.max(np.diff(levels)) / 2 + 1e-7)


def test_zero_block_and_exact_zero():
    W = np.zeros((2, 64))
    W[1, 3] = 0.5
    levels = nf4_levels()
    codes, absmax = quantize_blockwise(W, levels, 64)
    W_hat = dequantize_blockwise(codes, absmax, levels, W.shape, 64)
    assert np.array_equal(W_hat, W)


def test_double_quantisation_keeps_the_constants_close():
    absmax = np.random.default_rng(2).uniform(0.01, 0.1, size=1000)
    codes, scales, mean = double_quantize(absmax, 256)
    assert codes.dtype == np.int8 and scales.shape == (4,)
    back = double_dequantize(codes, scales, mean, 256)
    assert np.max(np.abs(back - absmax)) <= np.max(scales) / 2 + 1e-9


def test_bits_per_parameter_match_the_papers_accounting():
    assert bits_per_parameter(64) == 4.5
    assert bits_per_parameter(64, double=True) == pytest.approx(4.127, abs=5e-4)
    assert bits_per_parameter(64) - bits_per_parameter(64, double=True) == pytest.approx(0.373, abs=5e-4)
