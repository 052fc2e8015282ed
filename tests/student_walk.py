"""A new student's own solutions, each run through the real check: right answers written in unusual ways (every one
must pass) and mistakes not in the first catalogue (every one must fail, and its feedback must name it).

``wrong(solutions)`` gives (lesson, task, label, replaces, fn, words) rows that ``tests/mistake_catalogue.py`` turns
into its ``Mistake`` rows for lessons 01-05; ``right(solutions)`` gives ``Right`` rows (the names they replace, all
at once, so that a forward and the backward that reads its cache travel together). Lesson 07's rows are in
``LESSON07_WRONG`` and ``LESSON07_RIGHT``. Classes each row stands for: sizes or values copied from the check's first
input, a notebook variable read instead of an argument, a forbidden shortcut, a shape that is almost right, an
unusual but valid order of operations, ``@`` / ``np.dot`` / ``einsum``, a view or a copy, extra keyword arguments, a
print inside the function.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import walk_lesson05
import walk_lessons01_02 as L12
import walk_lessons03_04 as L34
from walk_lesson07 import LESSON07_RIGHT, LESSON07_WRONG
from walk_rows import Right

__all__ = ["LESSON07_RIGHT", "LESSON07_WRONG", "TYPED", "Right", "right", "wrong"]


# ------------------------------------------------------------------------------------------------- 01-04 tables

def _lessons_01_to_04(sol: dict) -> tuple[list, list]:
    s1, s4 = sol["01"], sol["04"]
    right = [
        Right("01", "svd", "argsort, einsum, clip, a list, a print", {"svd_by_eig": L12.svd_argsort_einsum}),
        Right("01", "svd", "np.dot and reversed views", {"svd_by_eig": L12.svd_dot_views}),
        Right("01", "svd", "signs fixed on V, U by broadcasting, a copy of V^T", {"svd_by_eig": L12.svd_sign_fixed}),
        Right("01", "factor", "sqrt(S) in each factor, from the student's own svd_by_eig",
              {"factor_rank_r": L12.factor_sqrt_split(s1["svd_by_eig"])}),
        Right("01", "factor", "S in A, einsum, a list, an extra keyword", {"factor_rank_r": L12.factor_einsum}),
        Right("01", "factor", "np.diag, 0:r slices, a print", {"factor_rank_r": L12.factor_diag}),
        Right("01", "errors", "a reversed cumulative sum", {"rank_r_errors": L12.errors_reversed_cumsum}),
        Right("01", "errors", "a list comprehension (a loop is allowed here)",
              {"rank_r_errors": L12.errors_comprehension}),
        Right("01", "errors", "1 - cumsum / total, clipped", {"rank_r_errors": L12.errors_one_minus}),
        Right("02", "init", "std * standard_normal", {"init_lora_factors": L12.init_standard_normal}),
        Right("02", "init", "keyword arguments, a list, a print", {"init_lora_factors": L12.init_keywords}),
        Right("02", "init", "integer zeros for B, N(0, 1) * std for A", {"init_lora_factors": L12.init_int_zeros}),
        Right("02", "forward", "einsum and a cache dict", {"lora_layer_forward": L12.forward_einsum}),
        Right("02", "forward", "the merged weight, len(A), a print", {"lora_layer_forward": L12.forward_merged}),
        Right("02", "forward", "np.dot, alpha * (1 / r)", {"lora_layer_forward": L12.forward_dot}),
        Right("02", "backward", "einsum through a cache dict",
              {"lora_layer_forward": L12.forward_einsum, "lora_layer_backward": L12.backward_einsum}),
        Right("02", "backward", "np.dot, Z recomputed, a list",
              {"lora_layer_forward": L12.forward_dot, "lora_layer_backward": L12.backward_dot}),
        Right("02", "backward", "B^T G^T X and G (W0 + s B A)",
              {"lora_layer_forward": L12.forward_dot, "lora_layer_backward": L12.backward_reordered}),
        Right("02", "numerical_gradient", "flat indices, restored in finally",
              {"numerical_gradient": L12.numgrad_flat_finally}),
        Right("02", "numerical_gradient", "np.nditer with multi_index", {"numerical_gradient": L12.numgrad_nditer}),
        Right("02", "numerical_gradient", "x put back by adding h (equal up to rounding), a print",
              {"numerical_gradient": L12.numgrad_add_back}),
        Right("03", "adapted_qkv", "a loop over the dict with einsum", {"adapted_qkv": L34.qkv_dict_loop}),
        Right("03", "adapted_qkv", "2-d reshape and merged weights", {"adapted_qkv": L34.qkv_reshape_merged}),
        Right("03", "adapted_qkv", "tensordot and matmul, a list", {"adapted_qkv": L34.qkv_tensordot}),
        Right("03", "adapted_qkv", "the pair unpacked as (B, A) but used consistently",
              {"adapted_qkv": L34.qkv_names_swapped}),
        Right("03", "phi", "the trace of two projections", {"subspace_similarity_phi": L34.phi_trace}),
        Right("03", "phi", "eigh of A^T A, a numpy float", {"subspace_similarity_phi": L34.phi_eigh}),
        Right("03", "phi", "full_matrices=True, a 0-d array", {"subspace_similarity_phi": L34.phi_zero_d}),
        Right("04", "merge", "np.add and einsum", {"merge_weight": L34.merge_add_einsum}),
        Right("04", "merge", "+= on a copy, a keyword-only argument", {"merge_weight": L34.merge_copy_then_add}),
        Right("04", "merge", "(A^T B^T)^T, a print", {"merge_weight": L34.merge_transposed_twice}),
        Right("04", "unmerge", "np.subtract and einsum", {"unmerge_weight": L34.unmerge_subtract_einsum}),
        Right("04", "unmerge", "-= on a copy", {"unmerge_weight": L34.unmerge_copy_subtract}),
        Right("04", "unmerge", "the student's merge with -scale",
              {"unmerge_weight": L34.unmerge_via_negative_merge(s4["merge_weight"])}),
        Right("04", "switch", "einsum on unpacked triples", {"switch_weight": L34.switch_einsum}),
        Right("04", "switch", "indexed triples, -= and += on a copy", {"switch_weight": L34.switch_indexed_copy}),
        Right("04", "switch", "the student's own unmerge then merge",
              {"switch_weight": L34.switch_via_own(s4["merge_weight"], s4["unmerge_weight"])}),
        Right("04", "gathered", "batched matmul with an extra axis", {"gathered_forward": L34.gathered_matmul_axis}),
        Right("04", "gathered", "np.take and one einsum", {"gathered_forward": L34.gathered_take}),
        Right("04", "gathered", "per-task merged weights, gathered",
              {"gathered_forward": L34.gathered_per_task_weights}),
    ]
    second = "second input"
    wrong = [
        ("01", "svd", "sizes typed in from the first input (6, 4)", "svd_by_eig", L12.svd_hard_coded, second),
        ("01", "svd", "s returned as a column (k, 1)", "svd_by_eig", L12.svd_column_s, "flat vector"),
        ("01", "svd", "returns (U, Vt, s)", "svd_by_eig", L12.svd_order, "order (U, Vt, s)"),
        ("01", "svd", "np.linalg.svd, which the task rules out", "svd_by_eig", L12.svd_library, "SVD routine"),
        ("01", "svd", "a notebook matrix read instead of M", "svd_by_eig", L12.svd_notebook_M, "notebook variable"),
        ("01", "factor", "r typed in (2)", "factor_rank_r", L12.factor_hard_coded, second),
        ("01", "factor", "A from the first r columns of V^T", "factor_rank_r", L12.factor_columns_of_vt, "ROWS of V^T"),
        ("01", "factor", "returns the product B A", "factor_rank_r", L12.factor_product, "should return 2 values"),
        ("01", "errors", "k typed in (8 values)", "rank_r_errors", L12.errors_hard_coded, second),
        ("01", "errors", "sorts s in place", "rank_r_errors", L12.errors_sorts_in_place, "in place"),
        ("01", "errors", "returns one number", "rank_r_errors", L12.errors_one_number, "not a numeric numpy array"),
        ("01", "errors", "returns a column (k + 1, 1)", "rank_r_errors", L12.errors_column, "1-d array"),
        ("02", "init", "shapes typed in", "init_lora_factors", L12.init_hard_coded, second),
        ("02", "init", "np.random.seed and np.random (rng ignored)", "init_lora_factors", L12.init_global_seed,
         "ignores its rng"),
        ("02", "init", "uniform, not normal", "init_lora_factors", L12.init_uniform, "std 0.05"),
        ("02", "forward", "r typed in (3)", "lora_layer_forward", L12.forward_hard_coded_r, second),
        ("02", "forward", "returns (cache, H)", "lora_layer_forward", L12.forward_cache_first, "returns (cache, H)"),
        ("02", "forward", "alpha // r", "lora_layer_forward", L12.forward_floor, "floor division"),
        ("02", "forward", "X scaled in place", "lora_layer_forward", L12.forward_scales_X, "in place"),
        ("02", "forward", "alpha read from a notebook variable", "lora_layer_forward", L12.forward_notebook_alpha,
         "notebook variable"),
        ("02", "backward", "gradients multiplied by n", "lora_layer_backward", L12.backward_times_n, "multiply by n"),
        ("02", "backward", "dW0 returned too", "lora_layer_backward", L12.backward_with_dW0, "should return 3"),
        ("02", "backward", "dA without the scale", "lora_layer_backward", L12.backward_dA_unscaled, "scale"),
        ("02", "numerical_gradient", "only the first column nudged", "numerical_gradient", L12.numgrad_first_column,
         "grad"),
        ("02", "numerical_gradient", "f(x) called with an argument", "numerical_gradient", L12.numgrad_passes_x,
         "wrong number of arguments"),
        ("02", "numerical_gradient", "a flat gradient", "numerical_gradient", L12.numgrad_flat_list, "expected shape"),
        ("03", "adapted_qkv", "D typed in (7)", "adapted_qkv", L34.qkv_hard_coded_D, second),
        ("03", "adapted_qkv", "scale divided by r again", "adapted_qkv", L34.qkv_scale_over_r, "divide by r again"),
        ("03", "adapted_qkv", "returns (Q, V, K)", "adapted_qkv", L34.qkv_order, "order (Q, V, K)"),
        ("03", "adapted_qkv", "a dict returned", "adapted_qkv", L34.qkv_dict, "should return 3 values"),
        ("03", "phi", "// instead of /", "subspace_similarity_phi", L34.phi_floor, "floor division"),
        ("03", "phi", "i and j swapped", "subspace_similarity_phi", L34.phi_i_j_swapped, "transpose"),
        ("03", "phi", "a formatted string", "subspace_similarity_phi", L34.phi_text, "not one number"),
        ("04", "merge", "the scale on W0 too", "merge_weight", L34.merge_scale_on_W0, "not scale (W0 + B A)"),
        ("04", "merge", "the scale typed in (1.5)", "merge_weight", L34.merge_hard_coded_scale, second),
        ("04", "merge", "np.add(..., out=W0)", "merge_weight", L34.merge_out_W0, "in place"),
        ("04", "unmerge", "divided by the scale", "unmerge_weight", L34.unmerge_divides, "do not divide"),
        ("04", "unmerge", "W -= ... on the argument", "unmerge_weight", L34.unmerge_in_place, "in place"),
        ("04", "unmerge", "the scale typed in (1.5)", "unmerge_weight", L34.unmerge_hard_coded_scale, second),
        ("04", "switch", "scales crossed", "switch_weight", L34.switch_crossed_scales, "crossed"),
        ("04", "switch", "the change alone", "switch_weight", L34.switch_change_only, "add W"),
        ("04", "switch", "triples unpacked as (B, A, scale)", "switch_weight", L34.switch_unpacked_B_first, "line"),
        ("04", "gathered", "eleven rows typed in", "gathered_forward", L34.gathered_hard_coded_rows, second),
        ("04", "gathered", "a list comprehension over rows", "gathered_forward", L34.gathered_comprehension,
         "list comprehension"),
        ("04", "gathered", "one mean scale for the batch", "gathered_forward", L34.gathered_one_scale, "H"),
    ]
    return right, wrong


def right(solutions: dict) -> list[Right]:
    """Right answers of lessons 01-05, each a dict of the names it replaces in that lesson's solution."""
    return _lessons_01_to_04(solutions)[0] + walk_lesson05.rows(solutions["05"])[0]


def wrong(solutions: dict) -> list[tuple]:
    """(lesson, task, label, replaces, fn, words) of each new mistake of lessons 01-05."""
    return _lessons_01_to_04(solutions)[1] + walk_lesson05.rows(solutions["05"])[1]


# ------------------------------------------------------------------------------------------------- typed answers

TYPED = [   # (exact value, form, figures, a known mistake's value or None, the student's answer, the verdict)
    (0.5, "number", 3, None, Fraction(1, 2), "correct"),
    (0.5, "number", 3, None, np.float64(0.5), "correct"),
    (0.5, "number", 3, None, "1/2", "correct"),
    (0.5, "number", 3, None, "50%", "correct"),
    (0.5, "number", 3, None, np.array(0.5), "correct"),
    (0.5, "number", 3, None, " 0.500 ", "correct"),
    (0.5, "number", 3, None, 0.505, "not yet"),
    (0.5, "number", 3, None, "0.49", "not yet"),
    (37.748736, "number", 4, 37.8, np.float32(37.748736), "correct"),
    (37.748736, "number", 4, 37.8, "37.75", "correct"),
    (37.748736, "number", 4, 37.8, 37.8, "not yet"),
    (37.748736, "number", 4, 37.8, "37.80", "not yet"),
    (37.748736, "number", 4, 37.8, np.float32(37.7), "too coarse"),
    (37.748736, "number", 4, 37.8, np.float64(37.7), "too coarse"),
    (37.748736, "number", 4, 37.8, 37.76, "not yet"),
    (0.00536, "percent", 3, None, 0.536, "correct"),
    (0.00536, "percent", 3, None, "0.536 %", "correct"),
    (0.00536, "percent", 3, None, Fraction(67, 12500), "correct"),
    (0.00536, "percent", 3, None, np.float32(0.536), "correct"),
    (0.00536, "percent", 3, None, np.float32(0.54), "too coarse"),
    (0.00536, "percent", 3, None, np.round(np.float64(0.536), 2), "too coarse"),
    (0.00536, "percent", 3, None, 0.537, "not yet"),
    (0.00536, "fraction", 3, None, "5.36e-3", "correct"),
    (0.00536, "fraction", 3, None, 0.536, "not yet"),
    ((100, 3), "tuple", 3, None, [100, 3], "correct"),
    ((100, 3), "tuple", 3, None, (np.int64(100), np.int32(3)), "correct"),
    ((100, 3), "tuple", 3, None, np.array([100, 3]), "correct"),
    ((100, 3), "tuple", 3, None, (100.0, 3.0), "correct"),
    ((100, 3), "tuple", 3, None, (100.9, 3.9), "invalid"),
    ((100, 3), "tuple", 3, None, np.array([100.5, 3.0]), "invalid"),
    ((100, 3), "tuple", 3, None, (3, 100), "not yet"),
    (18874368, "int", 3, None, np.int64(18874368), "correct"),
    (18874368, "int", 3, None, 1.8874368e7, "correct"),
    (18874368, "int", 3, None, "18,874,368", "correct"),
    (18874368, "int", 3, None, "18.9M", "too coarse"),
    (18874368, "int", 3, None, 18874368.5, "not yet"),
    (18874368, "int", 3, None, "18.8M", "not yet"),
]
