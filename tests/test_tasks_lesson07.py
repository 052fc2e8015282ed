"""Lesson 07's task checks: the solution passes, stubs are 'not implemented yet', each typical mistake is named."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest
from task_helpers import assert_caught, lesson_tests

from lora_course.feedback.tasks import lesson07 as L
from lora_course.nf4 import NF4_PUBLISHED

NB = "07_lora_family.ipynb"

(solution, test_solution_passes_every_check_with_two_seeds, test_untouched_stubs_are_not_implemented_yet,
 test_bad_data_fails_without_raising) = lesson_tests(L, NB)


def test_the_levels_handed_to_the_tasks_are_the_published_table():
    assert L.NF4_TABLE == NF4_PUBLISHED


# ------------------------------------------------------------------------------------------------ DoRA
def _magnitude(kind):
    return {"columns": lambda W0: np.linalg.norm(W0, axis=0), "ones": lambda W0: np.ones(W0.shape[0]),
            "squared": lambda W0: np.sum(W0 * W0, axis=1),
            "frobenius": lambda W0: np.full(W0.shape[0], np.linalg.norm(W0))}[kind]


def _merged(kind):
    def merged(W0, A, B, m, scale):
        V = W0 + (1.0 if kind == "no_scale" else scale) * (B @ A)
        if kind == "norm_axis0":
            return m[:, None] * V / np.linalg.norm(V, axis=0, keepdims=True)
        if kind == "norm_of_W0":
            return m[:, None] * V / np.linalg.norm(W0, axis=1, keepdims=True)
        if kind == "no_m":
            return V / np.linalg.norm(V, axis=1, keepdims=True)
        if kind == "not_normalised":
            return m[:, None] * V
        if kind == "squared_norm":
            return m[:, None] * V / np.sum(V * V, axis=1, keepdims=True)
        if kind == "in_place":
            W0 += scale * (B @ A)
            return (m / np.linalg.norm(W0, axis=1))[:, None] * W0
        return (m / np.linalg.norm(V, axis=1))[:, None] * V
    return merged


DORA_MISTAKES = {
    "m_over_columns": ({"dora_magnitude_init": _magnitude("columns")}, "output feature"),
    "m_not_from_W0": ({"dora_magnitude_init": _magnitude("ones")}, "not initialised from W0"),
    "m_squared": ({"dora_magnitude_init": _magnitude("squared")}, "squared norms"),
    "m_frobenius": ({"dora_magnitude_init": _magnitude("frobenius")}, "one norm per row"),
    "norm_over_columns": ({"dora_merged_weight": _merged("norm_axis0")}, "wrong axis"),
    "norm_of_W0": ({"dora_merged_weight": _merged("norm_of_W0")}, "normalised W0 alone"),
    "no_scale": ({"dora_merged_weight": _merged("no_scale")}, "scale is missing"),
    "no_m": ({"dora_merged_weight": _merged("no_m")}, "magnitude m is missing"),
    "not_normalised": ({"dora_merged_weight": _merged("not_normalised")}, "not normalised"),
    "squared_norm": ({"dora_merged_weight": _merged("squared_norm")}, "squared norm"),
    "in_place": ({"dora_merged_weight": _merged("in_place")}, "in place"),
}


@pytest.mark.parametrize("mistake", DORA_MISTAKES)
def test_dora_mistakes_are_named(solution, mistake):
    replaced, words = DORA_MISTAKES[mistake]
    assert_caught(L, "dora", {**solution, **replaced}, words)


# ------------------------------------------------------------------------------------------------ PiSSA
def _pissa(kind):
    def pissa_factors(W0, r, scale):
        U, S, Vt = np.linalg.svd(W0, full_matrices=False)
        if kind == "bottom":
            U, S, Vt = U[:, ::-1], S[::-1], Vt[::-1]
        s_split = S[:r] if kind == "no_scale" else S[:r] / scale
        root = np.sqrt(s_split)
        A, B = root[:, None] * Vt[:r], U[:, :r] * root
        if kind == "all_in_B":
            A, B = Vt[:r], U[:, :r] * s_split
        if kind == "all_in_A":
            A, B = s_split[:, None] * Vt[:r], U[:, :r]
        if kind == "swapped_UV":
            A, B = root[:, None] * U[:, :r].T, Vt[:r].T * root
        if kind == "flipped_signs":
            A, B = -A, -B
        if kind == "swapped_UV":
            return A, B, W0 - scale * (U[:, :r] * S[:r] / scale) @ Vt[:r]
        res = {"no_residual": W0, "residual_sign": W0 + scale * B @ A, "residual_unscaled": W0 - B @ A}
        return A, B, res.get(kind, W0 - scale * (B @ A))
    return pissa_factors


PISSA_MISTAKES = {
    "no_residual": "without the residual",
    "residual_sign": "wrong sign",
    "residual_unscaled": "forgot the scale",
    "no_scale": "divide S_r by scale",
    "all_in_B": "went into B",
    "all_in_A": "went into A",
    "bottom": "SMALLEST singular values",
    "swapped_UV": "swapped",
}


@pytest.mark.parametrize("mistake", PISSA_MISTAKES)
def test_pissa_mistakes_are_named(solution, mistake):
    assert_caught(L, "pissa", {**solution, "pissa_factors": _pissa(mistake)}, PISSA_MISTAKES[mistake])


def test_pissa_accepts_either_sign_of_each_singular_pair(solution):
    from lora_course.feedback.tasks.common import evaluate

    for seed in (0, 3):
        assert evaluate(L.CHECKS, L.make_inputs, "pissa", {"pissa_factors": _pissa("flipped_signs")}, seed).passed


# ------------------------------------------------------------------------------------------------ LoRA+
def _step(a_rate, b_rate, swap=False, in_place=False):
    def loraplus_sgd_step(A, B, dA, dB, lr, ratio):
        if in_place:
            B -= ratio * lr * dB
            return A - lr * dA, B
        A_new, B_new = A - a_rate(lr, ratio) * dA, B - b_rate(lr, ratio) * dB
        return (B_new, A_new) if swap else (A_new, B_new)
    return loraplus_sgd_step


LORAPLUS_MISTAKES = {
    "ratio_on_A": (_step(lambda lr, q: q * lr, lambda lr, q: lr), "ratio went to A"),
    "no_ratio": (_step(lambda lr, q: lr, lambda lr, q: lr), "ratio is missing"),
    "divided": (_step(lambda lr, q: lr, lambda lr, q: lr / q), "divided by the ratio"),
    "ratio_twice": (_step(lambda lr, q: lr, lambda lr, q: q * q * lr), "applied twice"),
    "uphill": (_step(lambda lr, q: -lr, lambda lr, q: -q * lr), "uphill"),
    "swapped": (_step(lambda lr, q: lr, lambda lr, q: q * lr, swap=True), "swapped"),
    "in_place": (_step(None, None, in_place=True), "in place"),
}


@pytest.mark.parametrize("mistake", LORAPLUS_MISTAKES)
def test_loraplus_mistakes_are_named(solution, mistake):
    fn, words = LORAPLUS_MISTAKES[mistake]
    assert_caught(L, "loraplus", {**solution, "loraplus_sgd_step": fn}, words)


# ------------------------------------------------------------------------------------------------ NF4 levels
def _quantiles(offset=0.9677083, n_pos=8, n_neg=7):
    ppf = NormalDist().inv_cdf
    pos = [ppf(p) for p in np.linspace(offset, 0.5, n_pos + 1)[:-1]]
    neg = [-ppf(p) for p in np.linspace(offset, 0.5, n_neg + 1)[:-1]]
    return np.sort(np.array(pos + [0.0] + neg))


LEVEL_MISTAKES = {
    "uniform_grid": (lambda: np.linspace(-1, 1, 16), "uniform grid"),
    "symmetric": (lambda: (lambda q: q / q.max())(np.array([NormalDist().inv_cdf((i + 0.5) / 16) for i in range(16)])),
                  "no exact 0"),
    "not_normalised": (lambda: _quantiles(), "divide by the largest"),
    "mirrored": (lambda: (lambda q: q / -q.min())(_quantiles(n_pos=7, n_neg=8)), "wrong way round"),
    "unsorted": (lambda: (lambda q: q[::-1] / q.max())(_quantiles()), "wrong order"),
    "unsigned": (lambda: np.linspace(0, 1, 16), "signed"),
    "infinite_ends": (lambda: np.concatenate([[-np.inf], [NormalDist().inv_cdf(p) for p in np.linspace(0, 1, 16)[1:-1]],
                                              [np.inf]]), "infinite"),
}


@pytest.mark.parametrize("mistake", LEVEL_MISTAKES)
def test_nf4_level_mistakes_are_named(solution, mistake):
    fn, words = LEVEL_MISTAKES[mistake]
    assert_caught(L, "nf4_levels", {**solution, "normal_float_levels": lambda offset=0.9677083: fn()}, words)


# ------------------------------------------------------------------------------------------------ NF4 codes
def _quantize(kind):
    def nf4_quantize(W, levels, block=64):
        flat = W.T.ravel() if kind == "columns" else W.ravel()
        blocks = flat.reshape(-1, block)
        absmax = {"whole": np.full(1, np.abs(flat).max()), "signed": blocks.max(axis=1)}.get(
            kind, np.abs(blocks).max(axis=1))
        scale = absmax[:, None] if absmax.size > 1 else absmax
        scaled = W.reshape(-1, block) if kind == "unscaled" else blocks / scale
        grid = np.linspace(-1, 1, 16) if kind == "uniform" else levels
        if kind == "round_down":
            codes = np.clip(np.searchsorted(grid, scaled, side="right") - 1, 0, 15)
        else:
            codes = np.argmin(np.abs(scaled[..., None] - grid), axis=-1)
        if kind == "in_place":
            W /= 2
        return codes.ravel().astype(np.uint8), absmax
    return nf4_quantize


QUANTIZE_MISTAKES = {"whole": "one absmax for the whole weight", "signed": "signed maximum",
                     "columns": "down the columns", "round_down": "NEAREST level", "unscaled": "before finding",
                     "uniform": "uniform grid", "in_place": "never write into it"}


@pytest.mark.parametrize("mistake", QUANTIZE_MISTAKES)
def test_nf4_quantize_mistakes_are_named(solution, mistake):
    assert_caught(L, "nf4_quantize", {**solution, "nf4_quantize": _quantize(mistake)}, QUANTIZE_MISTAKES[mistake])


def _dequantize(kind):
    def nf4_dequantize(codes, absmax, levels, shape, block=64):
        size = int(np.prod(shape))
        values = {"no_absmax": levels[codes], "uniform": (codes / 15 * 2 - 1) * np.repeat(absmax, block)[:size],
                  "tile": levels[codes] * np.tile(absmax, block)[:size]}.get(
            kind, levels[codes] * np.repeat(absmax, block)[:size])
        if kind == "fortran":
            return values.reshape(shape, order="F")
        if kind == "per_column":
            return (levels[codes].reshape(shape).T * np.repeat(absmax, block)[:size].reshape(shape[::-1])).T
        return values.reshape(shape)
    return nf4_dequantize


DEQUANTIZE_MISTAKES = {"no_absmax": "absmax is missing", "uniform": "uniform grid", "tile": "np.tile",
                       "fortran": "row-major", "per_column": "per column"}


@pytest.mark.parametrize("mistake", DEQUANTIZE_MISTAKES)
def test_nf4_dequantize_mistakes_are_named(solution, mistake):
    assert_caught(L, "nf4_dequantize", {**solution, "nf4_dequantize": _dequantize(mistake)},
                  DEQUANTIZE_MISTAKES[mistake])


def test_a_typed_in_table_fails_the_levels_check(solution):
    typed_in = lambda offset=0.9677083: np.array(NF4_PUBLISHED)       # noqa: E731
    assert_caught(L, "nf4_levels", {**solution, "normal_float_levels": typed_in}, "offset argument")


# ------------------------------------------------------------------------------- what a student also gets wrong
def _V(W0, A, B, scale):
    return W0 + scale * (B @ A)


def _dora_ok(W0, A, B, m, scale):
    V = _V(W0, A, B, scale)
    return m[:, None] * V / np.linalg.norm(V, axis=1, keepdims=True)


def _pissa_ok(W0, r, scale):
    U, S, Vt = np.linalg.svd(W0, full_matrices=False)
    root = np.sqrt(S[:r] / scale)
    return root[:, None] * Vt[:r], U[:, :r] * root


def _pissa_with(A, B, W0, scale):
    return A, B, W0 - scale * (B @ A)


def _quantize_flat(W, levels, block, pad=True):
    flat = W.ravel()
    blocks = (np.concatenate([flat, np.zeros((-flat.size) % block)]) if pad else flat).reshape(-1, block)
    absmax = np.abs(blocks).max(axis=1)
    codes = np.argmin(np.abs((blocks / absmax[:, None])[..., None] - levels), axis=-1)
    return codes, absmax


MORE_MISTAKES = {   # check -> {mistake: (the student's function(s), words the feedback must contain)}
    "dora": {
        "m_keepdims": ({"dora_magnitude_init": lambda W0: np.linalg.norm(W0, axis=1, keepdims=True)}, "keepdims"),
        "m_float32": ({"dora_magnitude_init": lambda W0: np.linalg.norm(W0.astype(np.float32), axis=1)}, "float64"),
        "m_forgot_return": ({"dora_magnitude_init": lambda W0: None}, "return statement is missing"),
        "W_forgot_return": ({"dora_merged_weight": lambda W0, A, B, m, scale: None}, "return statement is missing"),
        "W_and_V_returned": ({"dora_merged_weight": lambda W0, A, B, m, scale: (_dora_ok(W0, A, B, m, scale),
                                                                                 _V(W0, A, B, scale))}, "tuple"),
        "float32": ({"dora_merged_weight": lambda W0, A, B, m, scale: _dora_ok(
            *(x.astype(np.float32) for x in (W0, A, B, m)), np.float32(scale))}, "float64"),
        "epsilon": ({"dora_merged_weight": lambda W0, A, B, m, scale: m[:, None] * _V(W0, A, B, scale) / (
            np.linalg.norm(_V(W0, A, B, scale), axis=1, keepdims=True) + 1e-6)}, "epsilon"),
        "m_argument_ignored": ({"dora_merged_weight": lambda W0, A, B, m, scale: _dora_ok(
            W0, A, B, np.linalg.norm(W0, axis=1), scale)}, "m is ignored"),
        "frobenius_norm": ({"dora_merged_weight": lambda W0, A, B, m, scale: m[:, None] * _V(W0, A, B, scale)
                            / np.linalg.norm(_V(W0, A, B, scale))}, "Frobenius"),
        "scale_outside": ({"dora_merged_weight": lambda W0, A, B, m, scale: scale * _dora_ok(W0, A, B, m, 1.0)},
                          "belongs inside"),
    },
    "pissa": {
        "forgot_return": ({"pissa_factors": lambda W0, r, scale: None}, "return statement is missing"),
        "B_A_order": ({"pissa_factors": lambda W0, r, scale: (lambda A, B: (B, A, W0 - scale * B @ A))(
            *_pissa_ok(W0, r, scale))}, "wrong order"),
        "A_transposed": ({"pissa_factors": lambda W0, r, scale: (lambda A, B: (A.T, B, W0 - scale * B @ A))(
            *_pissa_ok(W0, r, scale))}, "transposed"),
        "r_plus_one": ({"pissa_factors": lambda W0, r, scale: _pissa_with(*_pissa_ok(W0, r + 1, scale), W0, scale)},
                       "exactly the first r"),
        "scale_outside_root": ({"pissa_factors": lambda W0, r, scale: (lambda U, S, Vt: _pissa_with(
            (np.sqrt(S[:r]) / scale)[:, None] * Vt[:r], U[:, :r] * np.sqrt(S[:r]) / scale, W0, scale))(
            *np.linalg.svd(W0, full_matrices=False))}, "INSIDE the square root"),
        "one_sign_flipped": ({"pissa_factors": lambda W0, r, scale: (lambda A, B: _pissa_with(
            A, B * np.r_[-1.0, np.ones(r - 1)], W0, scale))(*_pissa_ok(W0, r, scale))}, "sign flipped"),
        "float32": ({"pissa_factors": lambda W0, r, scale: _pissa_with(
            *_pissa_ok(W0.astype(np.float32), r, scale), W0, scale)}, "float64"),
    },
    "loraplus": {
        "forgot_return": ({"loraplus_sgd_step": lambda A, B, dA, dB, lr, ratio: None}, "return statement is missing"),
        "A_rate_divided": ({"loraplus_sgd_step": lambda A, B, dA, dB, lr, ratio: (
            A - lr / ratio * dA, B - lr * dB)}, "divided by the ratio"),
        "steps_not_values": ({"loraplus_sgd_step": lambda A, B, dA, dB, lr, ratio: (-lr * dA, -ratio * lr * dB)},
                             "return the new values"),
        "float32": ({"loraplus_sgd_step": lambda A, B, dA, dB, lr, ratio: (
            (A - lr * dA).astype(np.float32), (B - ratio * lr * dB).astype(np.float32))}, "float64"),
        "ratio_on_both": ({"loraplus_sgd_step": lambda A, B, dA, dB, lr, ratio: (
            A - ratio * lr * dA, B - ratio * lr * dB)}, "ratio went to A"),
    },
    "nf4_levels": {
        "forgot_return": ({"normal_float_levels": lambda offset=0.9677083: None}, "return statement is missing"),
        "zero_not_exact": ({"normal_float_levels": lambda offset=0.9677083: (lambda q: np.where(q == 0, 1e-9, q))(
            _quantiles(offset) / _quantiles(offset).max())}, "not exactly 0"),
        "seventeen_levels": ({"normal_float_levels": lambda offset=0.9677083: (lambda q: q / q.max())(
            _quantiles(offset, n_neg=8))}, "17 levels"),
        "eight_each_side": ({"normal_float_levels": lambda offset=0.9677083: (
            lambda q: np.sort(np.r_[q, -q]) / q.max())(np.array(
                [NormalDist().inv_cdf(p) for p in np.linspace(offset, 0.5, 9)[:-1]]))}, "8 quantiles on each side"),
        "probabilities": ({"normal_float_levels": lambda offset=0.9677083: np.sort(np.r_[
            -np.linspace(offset, 0.5, 8)[:-1], 0.0, np.linspace(offset, 0.5, 9)[:-1]]) / offset}, "Phi^-1"),
        "column": ({"normal_float_levels": lambda offset=0.9677083: (_quantiles(offset) / _quantiles(offset).max())[
            :, None]}, "shape (16,)"),
    },
    "nf4_quantize": {
        "forgot_return": ({"nf4_quantize": lambda W, levels, block=64: None}, "return statement is missing"),
        "whole_blocks_only": ({"nf4_quantize": lambda W, levels, block=64: (lambda c, a: (c.ravel(), a))(
            *_quantize_flat(W, levels, block, pad=False))}, "partial"),
        "absmax_codes_order": ({"nf4_quantize": lambda W, levels, block=64: (lambda c, a: (a, c.ravel()[:W.size]))(
            *_quantize_flat(W, levels, block))}, "wrong order"),
        "absmax_keepdims": ({"nf4_quantize": lambda W, levels, block=64: (lambda c, a: (
            c.ravel()[:W.size], a[:, None]))(*_quantize_flat(W, levels, block))}, "keepdims"),
        "codes_not_flat": ({"nf4_quantize": lambda W, levels, block=64: _quantize_flat(W, levels, block)},
                           "ravel"),
        "per_row": ({"nf4_quantize": lambda W, levels, block=64: (lambda a: (np.argmin(np.abs(
            (W / a[:, None])[..., None] - levels), axis=-1).ravel(), a))(np.abs(W).max(axis=1))}, "per row"),
        "block_ignored": ({"nf4_quantize": lambda W, levels, block=64: (lambda c, a: (c.ravel()[:W.size], a))(
            *_quantize_flat(W, levels, 64))}, "block argument"),
        "one_block_too_many": ({"nf4_quantize": lambda W, levels, block=64: (lambda c, a: (
            c.ravel()[:W.size], np.r_[a, 0.0]))(*_quantize_flat(W, levels, block))}, "one block too many"),
    },
    "nf4_dequantize": {
        "forgot_return": ({"nf4_dequantize": lambda codes, absmax, levels, shape, block=64: None},
                          "return statement is missing"),
        "whole_blocks_only": ({"nf4_dequantize": lambda codes, absmax, levels, shape, block=64: (
            levels[codes].reshape(-1, block) * absmax[:, None]).reshape(shape)}, "last block"),
        "block_ignored": ({"nf4_dequantize": lambda codes, absmax, levels, shape, block=64: (
            levels[codes] * np.repeat(absmax, 64)[:int(np.prod(shape))]).reshape(shape)}, "block argument"),
        "one_based": ({"nf4_dequantize": lambda codes, absmax, levels, shape, block=64: (
            levels[codes - 1] * np.repeat(absmax, block)[:int(np.prod(shape))]).reshape(shape)},
                      "not levels[codes - 1]"),
        "divided": ({"nf4_dequantize": lambda codes, absmax, levels, shape, block=64: (
            levels[codes] / np.repeat(absmax, block)[:int(np.prod(shape))]).reshape(shape)}, "MULTIPLIES"),
    },
}


@pytest.mark.parametrize(("check", "mistake"), [(c, m) for c, table in MORE_MISTAKES.items() for m in table])
def test_more_mistakes_are_named(solution, check, mistake):
    replaced, words = MORE_MISTAKES[check][mistake]
    assert_caught(L, check, {**solution, **replaced}, words)


VALID_STYLES = {    # right answers written another way: each passes
    "dora": {"dora_merged_weight": lambda W0, A, B, m, scale, eps=0.0: np.einsum(
        "d,dk->dk", m / np.sqrt((_V(W0, A, B, scale) ** 2).sum(axis=1)), _V(W0, A, B, scale)).tolist()},
    "pissa": {"pissa_factors": lambda W0, r, scale=1.0: (lambda U, S, Vt: [
        np.sqrt(S[:r] / scale)[:, None] * Vt[:r], U[:, :r] * np.sqrt(S[:r] / scale),
        (U[:, r:] * S[r:]) @ Vt[r:S.size]])(
        *np.linalg.svd(W0, full_matrices=True))},
    "loraplus": {"loraplus_sgd_step": lambda A, B, dA, dB, lr, ratio=16.0, weight_decay=0.0: [A - lr * dA,
                                                                                          B - ratio * lr * dB]},
    "nf4_levels": {"normal_float_levels": lambda offset=0.9677083: (
        _quantiles(offset) / _quantiles(offset).max()).astype(np.float32)},
    "nf4_quantize": {"nf4_quantize": lambda W, levels, block=64, out_dtype=np.uint8: (lambda c, a: (
        list(c.ravel()[:W.size]), a.astype(np.float32)))(*_quantize_flat(W, levels, block))},
}


@pytest.mark.parametrize("check", VALID_STYLES)
def test_right_answers_in_another_style_pass(solution, check):
    from lora_course.feedback.tasks.common import evaluate

    for seed in (0, 3):
        outcome = evaluate(L.CHECKS, L.make_inputs, check, {**solution, **VALID_STYLES[check]}, seed)
        assert outcome.passed, (check, seed, outcome)


def test_a_broadcasting_error_in_the_student_code_says_what_usually_causes_it(solution):
    def row_vector_m(W0, A, B, m, scale):
        V = _V(W0, A, B, scale)
        return m * V / np.linalg.norm(V, axis=1)            # (d,) against (d, k): lines up with the columns

    assert_caught(L, "dora", {**solution, "dora_merged_weight": row_vector_m}, "as a column, v[:, None]")
