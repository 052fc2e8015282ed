"""Grader side of lesson 07's NF4 task checks (levels, block-wise quantisation, dequantisation): each judge
recomputes the package's reference from the inputs and names the mistake it finds."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from lora_course.feedback.tasks.common import Outcome, array, fail, same, unchanged
from lora_course.feedback.tasks.lesson07_judges import PARTIAL, returned


def judge_levels(data: dict, inputs: dict) -> Outcome:
    from lora_course.nf4 import nf4_levels

    returned(data)
    want, got = nf4_levels(), array(data, "levels", "a quantile at probability 0 or 1 is infinite")
    ppf = NormalDist().inv_cdf
    if got.shape == (17,):
        fail("17 levels; NF4 has 16", "linspace(offset, 0.5, n)[:-1] drops the 0.5 end (whose quantile is 0): "
             "8 positive and 7 negative quantiles plus one exact 0")
    if got.shape in ((16, 1), (1, 16)):
        fail(f"levels have shape {got.shape}; expected a vector of 16", "return a 1-D array of shape (16,)")
    if got.shape == (16,) and np.allclose(np.sort(got), want, atol=1e-6) and not np.allclose(got, want, atol=1e-6):
        fail("the right 16 values in the wrong order", "sort the levels in increasing order (np.sort)")
    equal_bins = np.array([ppf((i + 0.5) / 16) for i in range(16)])
    variants = {
        "NF4 levels from a uniform grid: the levels are quantiles of N(0, 1), dense near 0 and sparse in the tails":
            np.linspace(-1, 1, 16),
        "16 symmetric quantiles have no exact 0: take 8 positive and 7 negative quantiles plus 0 (asymmetric)":
            equal_bins / equal_bins.max(),
        "the asymmetry is the wrong way round: 8 quantiles go to the POSITIVE side and 7 to the negative":
            -want[::-1],
        "a uniform 4-bit grid with 0 at an end: NF4 is signed and normal-shaped": np.linspace(0, 1, 16),
        "8 quantiles on each side and no 0: NF4 takes 8 positive and 7 negative quantiles plus an exact 0":
            np.sort(np.r_[want[8:], -want[8:]]),
        "these are the probabilities, not the quantiles: apply Phi^-1 (NormalDist().inv_cdf) to each":
            np.sort(np.r_[-np.linspace(0.9677083, 0.5, 8)[:-1], 0.0, np.linspace(0.9677083, 0.5, 9)[:-1]]) / 0.9677083,
    }
    same("levels", got, want, "8 positive quantiles Phi^-1(linspace(offset, 0.5, 9)[:-1]), 7 negative ones, "
         "0, sorted and divided by the largest (offset = 0.9677083)", atol=1e-6, variants=variants,
         factors={"divide by the largest level, so that the levels run from -1 to 1": ppf(0.9677083)})
    if got[7] != 0.0:
        fail(f"the middle level is {got[7]:.3g}, not exactly 0", "NF4 keeps 0 exact (a zero weight or padding "
             "must quantise to exactly 0): put the literal 0.0 among the levels")
    same("levels with another offset", array(data, "levels_other"), nf4_levels(float(inputs["offset"])),
         "compute the levels from the offset argument (a typed-in table answers one offset only)", atol=1e-6)
    return Outcome(True, "the 16 NF4 levels: quantiles of N(0, 1), an exact 0, from -1 to 1")


def judge_quantize(data: dict, inputs: dict) -> Outcome:
    from lora_course.nf4 import quantize_blockwise

    W, levels, block = np.asarray(inputs["W_q"], float), np.asarray(inputs["levels"], float), int(inputs["block"])
    returned(data)
    unchanged("W", W, array(data, "W_after"), "W is an input: never write into it")
    codes_want, absmax_want = quantize_blockwise(W, levels, block)
    codes, absmax = array(data, "codes"), array(data, "absmax")
    if absmax.shape in ((absmax_want.size, 1), (1, absmax_want.size)):
        fail(f"absmax has shape {absmax.shape}; expected a vector of shape {absmax_want.shape}",
             "no keepdims here: one number per block, np.abs(blocks).max(axis=1)")
    if codes.shape == absmax_want.shape and absmax.shape == codes_want.shape:
        fail("codes and absmax come back in the wrong order", "return (codes, absmax): the W.size codes first")
    if absmax.shape == (-(-W.size // 64),) and block != 64:
        fail(f"absmax has {absmax.size} values: blocks of 64 although block = {block}",
             "use the block argument, not the default 64")
    if absmax.shape == (absmax_want.size + 1,):
        fail(f"absmax has {absmax.size} values: one block too many (expected ceil(W.size / block) = "
             f"{absmax_want.size})", "pad by (-W.size) % block entries, which is 0 when block divides W.size")
    if absmax.shape == (W.shape[0],) and absmax.shape != absmax_want.shape:
        fail(f"absmax has one value per row ({W.shape[0]}); expected one per block of {block} entries "
             f"({absmax_want.size})", "flatten W row-major and cut it into blocks of `block` consecutive entries")
    if codes.size == codes_want.size and codes.shape != codes_want.shape:
        fail(f"codes have shape {codes.shape}; expected a flat vector of {codes_want.size}",
             "return codes.ravel(): one code per entry of W, in row-major order")
    if absmax.size == 1 and absmax_want.size > 1:
        fail(f"one absmax for the whole weight; expected one per block of {block} ({absmax_want.size} blocks)",
             "split the flattened weight into blocks of `block` consecutive entries and take each block's absmax")
    if absmax.shape == absmax_want.shape and np.allclose(absmax, np.max(W.reshape(-1, block), axis=1)):
        fail("absmax is the signed maximum of each block", "take the largest ABSOLUTE value: np.abs(block).max()")
    col_blocks = np.max(np.abs(W.T.reshape(-1, block)), axis=1)
    if absmax.shape == absmax_want.shape and np.allclose(absmax, col_blocks):
        fail("the blocks run down the columns", "flatten row-major (W.ravel()) and cut consecutive blocks")
    same("absmax", absmax, absmax_want, f"one absmax per block of {block} consecutive entries (row-major)",
         atol=1e-6)
    scaled = W.reshape(-1, block) / absmax_want[:, None].astype(float)
    below = np.clip(np.searchsorted(levels, scaled, side="right") - 1, 0, levels.size - 1).ravel()
    unscaled = np.argmin(np.abs(W.reshape(-1, 1) - levels), axis=1)
    uniform = np.argmin(np.abs(scaled.reshape(-1, 1) - np.linspace(-1, 1, 16)), axis=1)
    same("codes", codes, codes_want, "codes = argmin |w / absmax - levels|: the index of the nearest level",
         atol=0.5, variants={
             "rounding down: take the NEAREST level, not the largest one below": below,
             "divide each entry by its block's absmax before finding the nearest level": unscaled,
             "levels from a uniform grid: use the NF4 levels you were given": uniform,
         }, expected="the nearest-level codes")
    W2 = np.asarray(inputs["W_q_partial"], float)
    partial = (f"with a weight of {W2.size} entries and block = {block} (the last block is partial: "
               f"{W2.size % block} of {block})", "pad the flattened weight with zeros to a multiple of block "
               "(or handle a shorter last block): codes (W.size,), absmax (ceil(W.size / block),)")
    if PARTIAL + "nf4_quantize" in data:
        fail(f"your nf4_quantize raised {partial[0]}", partial[1])
    codes2_want, absmax2_want = quantize_blockwise(W2, levels, block)
    codes2, absmax2 = array(data, "codes_partial"), array(data, "absmax_partial")
    if codes2.shape != codes2_want.shape or absmax2.shape != absmax2_want.shape or not (
            np.allclose(absmax2, absmax2_want, atol=1e-6) and np.array_equal(codes2, codes2_want)):
        fail(f"wrong codes or absmax {partial[0]}", partial[1])
    return Outcome(True, "per-block absmax and nearest-level codes, as bitsandbytes' NF4 stores them")


def judge_dequantize(data: dict, inputs: dict) -> Outcome:
    from lora_course.nf4 import dequantize_blockwise

    codes, absmax = np.asarray(inputs["codes"]), np.asarray(inputs["absmax"], float)
    levels, block = np.asarray(inputs["levels"], float), int(inputs["block"])
    returned(data)
    want = dequantize_blockwise(codes, absmax, levels, (6, 12), block)
    per_block = np.repeat(absmax, block)
    same("W", array(data, "W"), want, "W = levels[codes] * absmax of each block, reshaped to shape", atol=1e-10,
         variants={
             "the block's absmax is missing: multiply levels[codes] by it": levels[codes].reshape(6, 12),
             "the codes index a uniform grid: look them up in levels":
                 ((codes / 15 * 2 - 1) * per_block).reshape(6, 12),
             "np.tile repeats the whole absmax vector; each block's absmax must repeat `block` times (np.repeat)":
                 (levels[codes] * np.tile(absmax, block)[:72]).reshape(6, 12),
             "the result is filled column by column: reshape in row-major (C) order":
                 (levels[codes] * per_block[:72]).reshape((6, 12), order="F"),
             "the absmax is applied per column, not per block of consecutive entries":
                 (levels[codes].reshape(6, 12).T * np.repeat(absmax, block)[:72].reshape(12, 6)).T,
             f"blocks of 64 although block = {block}: use the block argument":
                 (levels[codes] * np.repeat(absmax, 64)[:72]).reshape(6, 12),
             "codes index the levels from 0: levels[codes], not levels[codes - 1]":
                 (levels[(codes - 1) % levels.size] * per_block[:72]).reshape(6, 12),
             "divided by the absmax: dequantising MULTIPLIES levels[codes] by it": (levels[codes] / per_block).reshape(
                 6, 12),
         })
    c2, a2 = np.asarray(inputs["codes_partial"]), np.asarray(inputs["absmax_partial"], float)
    hint = ("repeat each absmax `block` times and cut to prod(shape) entries (np.repeat(absmax, block)[:size]): "
            "the last block may be shorter")
    if PARTIAL + "nf4_dequantize" in data:
        fail(f"your nf4_dequantize raised for shape (5, 13) with block = {block} (65 entries, last block of 1)", hint)
    same("W for shape (5, 13)", array(data, "W_partial"), dequantize_blockwise(c2, a2, levels, (5, 13), block), hint,
         atol=1e-10)
    return Outcome(True, "levels[codes] times each block's absmax, in the weight's shape")
