"""QLoRA's frozen base (Dettmers et al., 2023, arXiv:2305.14314): 4-bit NormalFloat with block-wise absmax.

Section 3 of the paper. The 16 NF4 levels are quantiles of N(0, 1), made asymmetric so that 0 is a level:
8 positive quantiles and 7 negative ones of the normal distribution, plus an exact 0, divided by the largest,
so the levels run from -1 to 1. Following the reference implementation (bitsandbytes' ``create_normal_map``),
the quantiles are taken at probabilities spaced evenly between ``offset`` = 0.9677083 and 1/2:

    positive: Phi^-1(linspace(offset, 1/2, 9)[:-1])      negative: -Phi^-1(linspace(offset, 1/2, 8)[:-1])

(offset is the mean of 1 - 1/(2 * 15) and 1 - 1/(2 * 16), the paper's choice for the two halves.)

A weight is quantised in blocks of 64 consecutive entries (row-major): each block keeps its absmax c as a
float32 and each entry the index (4 bits) of the level nearest to w / c. Double quantisation stores the
block constants themselves in 8 bits, in blocks of 256, after subtracting their mean (the paper uses 8-bit
floats there; this module uses a symmetric linear 8-bit code, which costs the same number of bits).
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from lora_course.validation import (
    InputError,
    as_array,
    check_bool,
    check_number,
    check_open_interval,
    check_positive_int,
    check_sequence,
    check_shape,
)

NF4_OFFSET = 0.9677083
# The NF4 table as published (QLoRA, Appendix E; the same numbers in bitsandbytes' get_4bit_type("nf4")).
NF4_PUBLISHED = (
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
    -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
    0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
)


def nf4_levels(offset: float = NF4_OFFSET) -> np.ndarray:
    """The 16 NormalFloat levels, sorted, from -1 to 1 with an exact 0: shape (16,)."""
    offset = check_open_interval("offset", offset, 0.5, 1, what="a probability")
    ppf = NormalDist().inv_cdf
    positive = [ppf(p) for p in np.linspace(offset, 0.5, 9)[:-1]]          # 8 quantiles > 0
    negative = [-ppf(p) for p in np.linspace(offset, 0.5, 8)[:-1]]         # 7 quantiles < 0
    levels = np.sort(np.array(positive + [0.0] + negative))
    return levels / levels.max()


def _check_levels(levels) -> np.ndarray:
    levels = as_array("levels", levels, ndim=1)
    if levels.size < 2 or levels.size > 256 or np.any(np.diff(levels) <= 0):
        raise InputError(f"levels: expected 2 to 256 increasing numbers, got {levels.size} values "
                         f"{'in that order' if levels.size < 2 or levels.size > 256 else 'not increasing'}")
    return levels


def _blocks(flat: np.ndarray, block: int) -> np.ndarray:
    pad = (-flat.size) % block
    return np.concatenate([flat, np.zeros(pad, dtype=flat.dtype)]).reshape(-1, block)


def quantize_blockwise(W: np.ndarray, levels: np.ndarray, block: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """W (any shape) -> (codes (W.size,) uint8 level indices, absmax (ceil(W.size / block),) float32)."""
    W = as_array("W", W, allow_empty=False)
    levels = _check_levels(levels)
    block = check_positive_int("block", block)
    blocks = _blocks(W.astype(np.float64).ravel(), block)                # (n_blocks, block)
    absmax = np.max(np.abs(blocks), axis=1).astype(np.float32)           # (n_blocks,) stored as float32
    safe = np.where(absmax == 0, 1.0, absmax.astype(np.float64))
    scaled = blocks / safe[:, None]                                      # in [-1, 1]
    codes = np.argmin(np.abs(scaled[..., None] - levels), axis=-1).astype(np.uint8)
    return codes.ravel()[:W.size], absmax


def dequantize_blockwise(codes: np.ndarray, absmax: np.ndarray, levels: np.ndarray, shape: tuple,
                         block: int = 64) -> np.ndarray:
    """The float64 weight of ``shape`` that (codes, absmax) stand for: levels[code] * absmax of its block."""
    levels = _check_levels(levels)
    block = check_positive_int("block", block)
    shape = tuple(check_positive_int(f"shape[{i}]", s) for i, s in enumerate(check_sequence("shape", shape,
                                                                                            min_len=1)))
    size = int(np.prod(shape))
    codes = as_array("codes", codes, ndim=1)
    check_shape("codes", codes, (size,), f"= (prod(shape),) = ({size},)")
    if codes.dtype.kind not in "iu" or np.any(codes < 0) or np.any(codes >= levels.size):
        raise InputError(f"codes: expected integer indices in [0, {levels.size}), got dtype {codes.dtype} "
                         f"with range [{codes.min()}, {codes.max()}]")
    n_blocks = -(-size // block)
    absmax = as_array("absmax", absmax, ndim=1)
    check_shape("absmax", absmax, (n_blocks,), f"= (ceil(size / block),) = ({n_blocks},)")
    if np.any(absmax < 0):
        raise InputError(f"absmax: expected block maxima of |w|, all >= 0, got {int(np.sum(absmax < 0))} negative "
                         f"(smallest {float(absmax.min()):g})")
    values = levels[codes.astype(np.int64)] * np.repeat(absmax.astype(np.float64), block)[:size]
    return values.reshape(shape)


def double_quantize(absmax: np.ndarray, block: int = 256) -> tuple[np.ndarray, np.ndarray, float]:
    """Block constants (n,) -> (codes (n,) int8, scales (ceil(n / block),) float32, mean): 8 bits per constant."""
    absmax = as_array("absmax", absmax, ndim=1, allow_empty=False).astype(np.float64)
    block = check_positive_int("block", block)
    mean = float(absmax.mean())
    blocks = _blocks(absmax - mean, block)
    scales = (np.max(np.abs(blocks), axis=1) / 127).astype(np.float32)
    safe = np.where(scales == 0, 1.0, scales.astype(np.float64))
    codes = np.clip(np.rint(blocks / safe[:, None]), -127, 127).astype(np.int8)
    return codes.ravel()[:absmax.size], scales, mean


def double_dequantize(codes: np.ndarray, scales: np.ndarray, mean: float, block: int = 256) -> np.ndarray:
    """The block constants that ``double_quantize`` stored: codes * scale of their block + mean, shape (n,)."""
    codes = as_array("codes", codes, ndim=1, allow_empty=False)
    if codes.dtype.kind not in "iu" or np.any(np.abs(codes) > 127):
        raise InputError(f"codes: expected 8-bit integer codes in [-127, 127], got dtype {codes.dtype} with range "
                         f"[{codes.min()}, {codes.max()}]")
    block = check_positive_int("block", block)
    scales = as_array("scales", scales, ndim=1)
    n_blocks = -(-codes.size // block)
    check_shape("scales", scales, (n_blocks,), f"= (ceil(codes.size / block),) = ({n_blocks},)")
    mean = check_number("mean", mean)
    return codes * np.repeat(scales.astype(np.float64), block)[:codes.size] + mean


def bits_per_parameter(block: int = 64, double: bool = False, block2: int = 256) -> float:
    """Storage of one weight: 4 bits + its share of the block constant (32 bits / block, or with double
    quantisation 8 bits / block + 32 bits / (block * block2)). The paper's example: 4.5 and 4.127 bits."""
    block = check_positive_int("block", block)
    block2 = check_positive_int("block2", block2)
    if check_bool("double", double):
        return 4 + 8 / block + 32 / (block * block2)
    return 4 + 32 / block
