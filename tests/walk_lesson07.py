"""The student walk's lesson 07 rows: right answers and new mistakes of DoRA, PiSSA, LoRA+ and NF4 (used by
``tests/test_mistake_table.py``)."""

from __future__ import annotations

import numpy as np

# ------------------------------------------------------------------------------------------------- lesson 07

def _rows(W0):
    return np.sqrt((W0 ** 2).sum(axis=1))


def dora_sum_of_squares(W0, A, B, m, scale, eps: float = 0.0):
    V = W0 + scale * np.einsum("dr,rk->dk", B, A)
    print("V", V.shape)
    return (m / _rows(V))[:, None] * V


def dora_reshape(W0, A, B, m, scale):
    V = W0 + scale * (B @ A)
    return m.reshape(-1, 1) * (V / np.linalg.norm(V, axis=-1).reshape(-1, 1))


def dora_diag(W0, A, B, m, scale):
    V = W0 + scale * B @ A
    return np.diag(m / np.linalg.norm(V, axis=1)) @ V


def dora_scale_typed_in(W0, A, B, m, scale):
    V = W0 + 2 * B @ A
    return m[:, None] * V / np.linalg.norm(V, axis=1, keepdims=True)


def dora_m_in_place(W0, A, B, m, scale):
    V = W0 + scale * B @ A
    m /= np.linalg.norm(V, axis=1)
    return m[:, None] * V


def magnitude_ragged(W0):
    return [np.linalg.norm(W0[0]), [np.linalg.norm(W0[1])], *[np.linalg.norm(r) for r in W0[2:]]]


def pissa_diag(W0, r, scale):
    U, S, Vt = np.linalg.svd(W0, full_matrices=False)
    root = (S[:r] / scale) ** 0.5
    A, B = np.diag(root) @ Vt[:r], U[:, :r] @ np.diag(root)
    return A, B, W0 - scale * B @ A


def pissa_tail(W0: np.ndarray, r: int, scale: float) -> list:
    U, S, Vt = np.linalg.svd(W0, full_matrices=False)
    root = np.sqrt(S[:r] / scale)
    return [root[:, None] * Vt[:r], U[:, :r] * root, (U[:, r:] * S[r:]) @ Vt[r:]]


def pissa_signs_flipped(W0, r, scale):
    U, S, Vt = np.linalg.svd(W0, full_matrices=False)
    root = np.sqrt(S[:r] / scale)
    A, B = root[:, None] * -Vt[:r], -U[:, :r] * root
    return A, B, W0 - scale * (B @ A)


def pissa_r_typed_in(W0, r, scale):
    U, S, Vt = np.linalg.svd(W0, full_matrices=False)
    root = np.sqrt(S[:2] / scale)
    A, B = root[:, None] * Vt[:2], U[:, :2] * root
    return A, B, W0 - scale * (B @ A)


def pissa_U_V_swapped(W0, r, scale):
    U, S, Vt = np.linalg.svd(W0, full_matrices=False)
    root = np.sqrt(S[:r] / scale)
    A, B = root[:, None] * U[:, :r].T, Vt[:r].T * root
    return A, B, W0 - scale * (B @ A)


def pissa_two_values(W0, r, scale):
    U, S, Vt = np.linalg.svd(W0, full_matrices=False)
    root = np.sqrt(S[:r] / scale)
    return root[:, None] * Vt[:r], U[:, :r] * root


def loraplus_copies(A, B, dA, dB, lr, ratio):
    A2, B2 = A.copy(), B.copy()
    A2 -= lr * dA
    B2 -= lr * ratio * dB
    return A2, B2


def loraplus_subtract(A: np.ndarray, B: np.ndarray, dA: np.ndarray, dB: np.ndarray, lr: float, ratio: float = 16.0,
                      **options):
    return np.subtract(A, lr * dA), np.subtract(B, ratio * lr * dB)


def loraplus_list(A, B, dA, dB, lr, ratio):
    print("step")
    return [A - lr * dA, B - (lr * ratio) * dB]


def loraplus_ratio_typed_in(A, B, dA, dB, lr, ratio):
    return A - lr * dA, B - 4 * lr * dB


def loraplus_in_place(A, B, dA, dB, lr, ratio):
    A -= lr * dA
    B -= ratio * lr * dB
    return A, B


def loraplus_gradients_swapped(A, B, dA, dB, lr, ratio):
    return A - lr * dB, B - ratio * lr * dA


def _halves(offset):
    from statistics import NormalDist
    ppf = NormalDist().inv_cdf
    return ([ppf(p) for p in np.linspace(offset, 0.5, 9)[:-1]], [-ppf(p) for p in np.linspace(offset, 0.5, 8)[:-1]])


def levels_vectorize(offset: float = 0.9677083) -> np.ndarray:
    from statistics import NormalDist
    ppf = np.vectorize(NormalDist().inv_cdf)
    v = np.concatenate([ppf(np.linspace(offset, 0.5, 9)[:-1]), [0.0], -ppf(np.linspace(offset, 0.5, 8)[:-1])])
    return np.sort(v / v.max())


def levels_list(offset=0.9677083):
    pos, neg = _halves(offset)
    return sorted([x / max(pos) for x in pos + neg] + [0.0])


def levels_first_positive(offset=0.9677083):
    pos, neg = _halves(offset)
    return np.asarray(sorted(pos + [0.0] + neg)) / pos[0]            # pos[0] is the largest quantile


def levels_rounded(offset=0.9677083):
    return np.round(levels_vectorize(offset), 2)


def levels_descending(offset=0.9677083):
    pos, neg = _halves(offset)
    return np.array(sorted([x / max(pos) for x in pos + neg] + [0.0], reverse=True))


def levels_unscaled(offset=0.9677083):
    pos, neg = _halves(offset)
    return np.array(sorted(pos + neg + [0.0]))


def quantize_pad(W, levels, block=64):
    flat = W.reshape(-1)
    blocks = np.pad(flat, (0, (-flat.size) % block)).reshape(-1, block)
    absmax = np.max(np.abs(blocks), axis=1)
    codes = np.abs((blocks / absmax[:, None])[:, :, None] - levels).argmin(axis=2).astype(np.uint8)
    return codes.reshape(-1)[:flat.size], absmax


def quantize_midpoints(W: np.ndarray, levels: np.ndarray, block: int = 64):
    flat = W.ravel()
    absmax = np.maximum.reduceat(np.abs(flat), np.arange(0, flat.size, block))
    return np.searchsorted((levels[1:] + levels[:-1]) / 2, flat / np.repeat(absmax, block)[:flat.size]), absmax


def quantize_list(W, levels, block=64):
    flat = W.ravel()
    absmax = np.maximum.reduceat(np.abs(flat), np.arange(0, flat.size, block))
    scaled = flat / np.repeat(absmax, block)[:flat.size]
    return np.argmin(np.abs(scaled[:, None] - levels), axis=1).tolist(), absmax


def quantize_block_typed_in(W, levels, block=64):
    return quantize_list(W, levels, 8)


def quantize_levels_not_codes(W, levels, block=64):
    codes, absmax = quantize_list(W, levels, block)
    return levels[codes], absmax


def quantize_mean_not_max(W, levels, block=64):
    flat = W.ravel()
    absmax = np.add.reduceat(np.abs(flat), np.arange(0, flat.size, block)) / block
    return np.argmin(np.abs((flat / np.repeat(absmax, block)[:flat.size])[:, None] - levels), axis=1), absmax


def dequantize_take(codes, absmax, levels, shape, block=64):
    return (np.take(levels, codes) * np.repeat(absmax, block)[:int(np.prod(shape))]).reshape(shape)


def dequantize_pad(codes: np.ndarray, absmax: np.ndarray, levels: np.ndarray, shape: tuple, block: int = 64):
    n = int(np.prod(shape))
    return (np.pad(levels[codes], (0, (-n) % block)).reshape(-1, block) * absmax[:, None]).ravel()[:n].reshape(shape)


def dequantize_index(codes, absmax, levels, shape, block=64):
    return (levels[codes] * absmax[np.arange(codes.size) // block]).reshape(*shape)


def dequantize_shape_typed_in(codes, absmax, levels, shape, block=64):
    return (levels[codes] * absmax[np.arange(codes.size) // block]).reshape(6, 12)


def dequantize_flat(codes, absmax, levels, shape, block=64):
    return levels[codes] * absmax[np.arange(codes.size) // block]


def dequantize_codes_as_values(codes, absmax, levels, shape, block=64):
    return (codes * absmax[np.arange(codes.size) // block]).reshape(shape)


LESSON07_RIGHT = {     # check -> [(label, the names replaced)]: each must pass
    "dora": [("sum of squares, divide then multiply, a print", {"dora_magnitude_init": _rows,
                                                               "dora_merged_weight": dora_sum_of_squares}),
             ("reshape(-1, 1) and ord=2 on the last axis", {"dora_merged_weight": dora_reshape}),
             ("np.diag(m / norms) @ V, magnitudes from a comprehension",
              {"dora_merged_weight": dora_diag,
               "dora_magnitude_init": lambda W0: np.array([np.linalg.norm(row) for row in W0])})],
    "pissa": [("np.diag and ** 0.5", {"pissa_factors": pissa_diag}),
              ("the residual from the tail triplets, a list", {"pissa_factors": pissa_tail}),
              ("every sign flipped together", {"pissa_factors": pissa_signs_flipped})],
    "loraplus": [("-= on copies", {"loraplus_sgd_step": loraplus_copies}),
                 ("np.subtract, a default ratio and **options", {"loraplus_sgd_step": loraplus_subtract}),
                 ("a list and a print", {"loraplus_sgd_step": loraplus_list})],
    "nf4_levels": [("np.vectorize of inv_cdf", {"normal_float_levels": levels_vectorize}),
                   ("a sorted Python list", {"normal_float_levels": levels_list}),
                   ("divided by the first positive quantile", {"normal_float_levels": levels_first_positive})],
    "nf4_quantize": [("np.pad and a 3-d argmin, uint8", {"nf4_quantize": quantize_pad}),
                     ("searchsorted on the midpoints", {"nf4_quantize": quantize_midpoints}),
                     ("np.maximum.reduceat, codes as a list", {"nf4_quantize": quantize_list})],
    "nf4_dequantize": [("np.take and np.repeat", {"nf4_dequantize": dequantize_take}),
                       ("padded to whole blocks, then cut", {"nf4_dequantize": dequantize_pad}),
                       ("each entry's block by index arithmetic", {"nf4_dequantize": dequantize_index})],
}

LESSON07_WRONG = {     # check -> {label: (the names replaced, words the feedback must contain)}
    "dora": {"the scale typed in (2)": ({"dora_merged_weight": dora_scale_typed_in}, "second input"),
             "m divided in place": ({"dora_merged_weight": dora_m_in_place}, "in place"),
             "a ragged list of magnitudes": ({"dora_magnitude_init": magnitude_ragged}, "rectangular")},
    "pissa": {"r typed in (2)": ({"pissa_factors": pissa_r_typed_in}, "second input"),
              "W_res not returned": ({"pissa_factors": pissa_two_values}, "should return 3"),
              "U and V swapped": ({"pissa_factors": pissa_U_V_swapped}, "swapped")},
    "loraplus": {"the ratio typed in (4)": ({"loraplus_sgd_step": loraplus_ratio_typed_in}, "second input"),
                 "A and B stepped in place": ({"loraplus_sgd_step": loraplus_in_place}, "in place"),
                 "dA and dB swapped": ({"loraplus_sgd_step": loraplus_gradients_swapped}, "do not fit")},
    "nf4_levels": {"descending": ({"normal_float_levels": levels_descending}, "wrong order"),
                   "not divided by the largest": ({"normal_float_levels": levels_unscaled}, "divide by the largest"),
                   "rounded to two decimals": ({"normal_float_levels": levels_rounded}, "levels")},
    "nf4_quantize": {"block typed in (8)": ({"nf4_quantize": quantize_block_typed_in}, "second input"),
                     "levels returned instead of codes": ({"nf4_quantize": quantize_levels_not_codes}, "codes"),
                     "the mean instead of the absmax": ({"nf4_quantize": quantize_mean_not_max}, "absmax")},
    "nf4_dequantize": {"shape typed in (6, 12)": ({"nf4_dequantize": dequantize_shape_typed_in}, "shape (5, 13)"),
                       "a flat result": ({"nf4_dequantize": dequantize_flat}, "expected shape"),
                       "codes used as values": ({"nf4_dequantize": dequantize_codes_as_values}, "W")},
}
