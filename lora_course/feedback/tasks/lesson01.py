"""Checks of lesson 01's implement-it tasks: the SVD by hand, a rank-r factorization, the Eckart-Young errors.

The student writes (names in the notebook):

    svd_by_eig(M) -> (U, s, Vt)      thin SVD of a tall M (d, k), d >= k: U (d, k), s (k,) descending, Vt (k, k)
    factor_rank_r(M, r) -> (B, A)    B (d, r), A (r, k) with B A the best rank-r approximation of M
    rank_r_errors(s) -> errors       (k + 1,): ||M - M_r||_F / ||M||_F for r = 0 .. k from the singular values s
"""

from __future__ import annotations

import numpy as np

from lora_course.feedback.calls import calls_of
from lora_course.feedback.tasks.common import (
    Check,
    Outcome,
    array,
    call,
    check_seed,
    check_table,
    fail,
    floats,
    get,
    lesson_runners,
    out,
    parts,
    same,
    unchanged,
    with_second,
)
from lora_course.lowrank import approximation_errors, best_rank_r, singular_values

SVD_SIGMAS = (4.0, 2.5, 1.5, 0.8)                     # well separated, so the singular vectors are well defined
FACTOR_SIGMAS = (5.0, 3.0, 2.0, 1.0, 0.5, 0.25)
SECOND_SIGMAS = (6.0, 3.5, 2.0, 1.2, 0.6)


def _with_sigmas(rng: np.random.Generator, d: int, sigmas: tuple[float, ...]) -> np.ndarray:
    """A (d, k) matrix with the given singular values and random singular vectors."""
    k = len(sigmas)
    Q1, _ = np.linalg.qr(rng.normal(size=(d, k)))
    Q2, _ = np.linalg.qr(rng.normal(size=(k, k)))
    return (Q1 * np.array(sigmas)) @ Q2.T


def make_inputs(seed: int) -> dict:
    """The matrices the checks feed the student's functions, drawn from ``seed`` (the grader picks it), and a
    second set of other sizes (M (9, 5), M (11, 5) with r = 3, five singular values): a function that works
    only for the first one's sizes fails there."""
    rng = np.random.default_rng([check_seed(seed), 1])
    s = np.sort(rng.uniform(0.2, 3.0, size=7))[::-1]
    first = {"seed": int(seed), "M_svd": _with_sigmas(rng, 6, SVD_SIGMAS),
             "M_factor": _with_sigmas(rng, 8, FACTOR_SIGMAS), "r": 2, "s": s}
    second = {"M_svd": _with_sigmas(rng, 9, SECOND_SIGMAS), "M_factor": _with_sigmas(rng, 11, SECOND_SIGMAS),
              "r": 3, "s": np.sort(rng.uniform(0.2, 3.0, size=5))[::-1]}
    return with_second(first, second, "M of shape (9, 5) for svd, (11, 5) with r = 3 for factor, 5 singular values")


# ----------------------------------------------------------------------------- student side (collect)

def _collect_svd(ns: dict, inputs: dict) -> dict:
    M, fn = floats(inputs["M_svd"]), get(ns, "svd_by_eig")
    U, s, Vt = parts(call("svd_by_eig", fn, M), ("U", "s", "Vt"), "svd_by_eig")
    return {"U": U, "s": s, "Vt": Vt, "M_after": M, "svd_calls": calls_of(fn, ns, ("svd",))}


def _collect_factor(ns: dict, inputs: dict) -> dict:
    M = floats(inputs["M_factor"])
    B, A = parts(call("factor_rank_r", get(ns, "factor_rank_r"), M, int(inputs["r"])), ("B", "A"), "factor_rank_r")
    return {"B": B, "A": A, "M_after": M}


def _collect_errors(ns: dict, inputs: dict) -> dict:
    s = floats(inputs["s"])
    return {"errors": out(call("rank_r_errors", get(ns, "rank_r_errors"), s), "rank_r_errors's result"),
            "s_after": s}


# ---------------------------------------------------------------------------------- grader side (judge)

def _judge_svd(data: dict, inputs: dict) -> Outcome:
    M = np.asarray(inputs["M_svd"], float)
    d, k = M.shape
    unchanged("M", M, array(data, "M_after"), "compute new arrays from M; never write into it")
    U, s, Vt = array(data, "U"), array(data, "s"), array(data, "Vt")
    s_ref = singular_values(M)
    shapes = {"U": U.shape, "s": s.shape, "Vt": Vt.shape}
    wanted = {(d, k): "U", (k,): "s", (k, k): "Vt"}
    if d != k and sorted(map(str, shapes.values())) == sorted(map(str, wanted)) and \
            [wanted[shape] for shape in shapes.values()] != list(shapes):
        returned = ", ".join(wanted[shape] for shape in shapes.values())
        fail(f"svd_by_eig returns the values in the order ({returned}) (judged by their shapes "
             f"{list(shapes.values())})", "return them in the order (U, s, Vt): U (d, k), s (k,), Vt (k, k)")
    if s.shape != (k,) and s.size == k:
        fail(f"s has shape {s.shape}; expected a flat vector of shape ({k},)",
             "return s as a 1-d array (no [:, None], no reshape, no np.diag): s = np.sqrt(eigenvalues)")
    if U.shape == (k, k) and Vt.shape in ((k, d), (d, k)):
        fail(f"U has shape {U.shape} and V^T has shape {Vt.shape}: U and V are swapped",
             f"U holds the left singular vectors as columns, shape (d, k) = {(d, k)}; V^T holds the right ones "
             f"(eigenvectors of M^T M) as rows, shape (k, k) = {(k, k)}")
    for name, got, want in (("U", U.shape, (d, k)), ("s", s.shape, (k,)), ("Vt", Vt.shape, (k, k))):
        if got != want:
            fail(f"{name}: expected shape {want}, got {got}", "thin SVD of M (d, k): U (d, k), s (k,), Vt (k, k)")
    if np.allclose(s, s_ref**2, rtol=1e-6) or np.allclose(s, (s_ref**2)[::-1], rtol=1e-6):
        fail("s holds the eigenvalues of M^T M, which are the squares sigma_i^2",
             "the singular values are the square roots of those eigenvalues: s = sqrt(eigenvalues)")
    if np.allclose(s, s_ref[::-1], rtol=1e-6):
        fail("s is in ascending order", "np.linalg.eigh returns eigenvalues in ascending order: reverse them "
             "(and the eigenvector columns with them) so that sigma_1 >= sigma_2 >= ...")
    same("s", s, s_ref, "the singular values are the square roots of the eigenvalues of M^T M", atol=1e-7)
    gram = M.T @ M                                                      # (k, k)
    if not np.allclose(Vt @ Vt.T, np.eye(k), atol=1e-7):
        fail("the rows of Vt are not orthonormal", "take the eigenvectors of M^T M from np.linalg.eigh (its "
             "columns are orthonormal) and transpose them into rows")
    if not np.allclose(gram @ Vt.T, Vt.T * s**2, atol=1e-6):
        if np.allclose(gram @ Vt, Vt * s**2, atol=1e-6):
            fail("the COLUMNS of your Vt are the right singular vectors: you returned V, not V^T",
                 "return V.T: row i of V^T is the right singular vector v_i")
        if np.allclose(gram @ Vt.T, Vt.T * (s**2)[::-1], atol=1e-6):
            fail("the singular values are sorted but the vectors are not reordered with them",
                 "reverse the eigenvector columns together with the eigenvalues")
        fail("the rows of Vt are not the right singular vectors: M^T M v_i should equal sigma_i^2 v_i",
             "V holds the eigenvectors of M^T M (not of M M^T), one per column, ordered like s")
    gram_u = U.T @ U
    if np.allclose(gram_u, np.diag(s**2), atol=1e-6):
        fail("the columns of U have lengths sigma_i instead of 1", "u_i = M v_i / sigma_i: divide by sigma_i")
    if not np.allclose(gram_u, np.eye(k), atol=1e-7):
        fail("the columns of U are not orthonormal", "u_i = M v_i / sigma_i gives orthonormal columns")
    MV = M @ Vt.T                                                       # (d, k): column i is M v_i
    if not np.allclose(MV, U * s, atol=1e-7):
        if np.allclose(np.abs(MV), np.abs(U * s), atol=1e-7):
            fail("some columns of U have the opposite sign to M v_i / sigma_i: U and V are not paired",
                 "each u_i is tied to its v_i: compute U from V as M v_i / sigma_i (eigenvectors of M M^T found "
                 "separately come with arbitrary signs)")
        fail("M v_i does not equal sigma_i u_i", "u_i = M v_i / sigma_i, using the same v_i as in V^T")
    if str(data.get("svd_calls", "") or ""):
        fail(f"the values are right, but they come from an SVD routine: {data['svd_calls']}",
             "the task is to build the SVD yourself from np.linalg.eigh(M.T @ M); np.linalg.svd is not allowed here")
    return Outcome(True, "U (d, k) and V^T (k, k) orthonormal, s descending, and M = U diag(s) V^T")


def _judge_factor(data: dict, inputs: dict) -> Outcome:
    M, r = np.asarray(inputs["M_factor"], float), int(inputs["r"])
    d, k = M.shape
    unchanged("M", M, array(data, "M_after"), "compute new arrays from M; never write into it")
    B, A = array(data, "B"), array(data, "A")
    if B.shape == (r, k) and A.shape == (d, r):
        fail(f"the first value has shape {B.shape} and the second {A.shape}: you returned (A, B)",
             "return (B, A): B is (d, r), A is (r, k), so that M_r = B @ A")
    if B.shape[1:] == A.shape[:1] and B.shape[0] == d and A.shape[1:] == (k,) and A.shape[0] != r:
        fail(f"you kept {A.shape[0]} directions; expected r = {r}",
             "keep exactly the first r columns of U and the first r rows of V^T")
    if B.shape != (d, r) or A.shape != (r, k):
        fail(f"B {B.shape}, A {A.shape}; expected B (d, r) = {(d, r)} and A (r, k) = {(r, k)}",
             "keep r columns of U (with the singular values) in B and r rows of V^T in A")
    U, s, Vt = np.linalg.svd(M, full_matrices=False)

    def approx(idx, power: float = 1.0) -> np.ndarray:
        return (U[:, idx] * s[idx] ** power) @ Vt[idx]

    want = best_rank_r(M, r)
    variants = {
        "the singular values are in both factors (B = U S, A = S V^T gives U S^2 V^T): put S in one factor only, "
        "or sqrt(S) in each": approx(slice(0, r), 2.0),
        "the singular values are missing: B = U_r diag(s_r), A = V_r^T": approx(slice(0, r), 0.0),
        "you kept the SMALLEST r singular directions; keep the r largest (the first r)": approx(slice(k - r, k)),
        "A takes the first r ROWS of V^T (Vt[:r]), not its first r columns (Vt[:, :r].T)":
            (U[:, :r] * s[:r]) @ Vt[:, :r].T,
    }
    same("B @ A", B @ A, want, "B @ A should be the truncated SVD U_r diag(s_r) V_r^T", atol=1e-8, variants=variants)
    return Outcome(True, "B (d, r) @ A (r, k) equals the best rank-r approximation of M")


def _judge_errors(data: dict, inputs: dict) -> Outcome:
    s = np.asarray(inputs["s"], float)
    unchanged("s", s, array(data, "s_after"), "compute new arrays from s; never write into it (no s **= 2)")
    got = array(data, "errors")
    if got.ndim != 1:
        fail(f"errors: expected a 1-d array of {s.size + 1} values, got shape {got.shape}",
             "return one value per rank r = 0 .. k, as a flat array")
    k = s.size

    def tail(values: np.ndarray, start: int) -> np.ndarray:
        return np.array([values[r + start:].sum() for r in range(k + 1)])

    sq = s**2
    want = approximation_errors(np.diag(s))                          # a matrix whose singular values are s
    if got.shape != want.shape:
        fail(f"errors: expected {k + 1} values (r = 0, 1, ..., {k}), got {got.size}",
             "one entry for every r from 0 (nothing kept, error 1) to k (everything kept, error 0)")
    variants = {
        "square the singular values: ||M - M_r||_F^2 is the sum of sigma_i^2 over i > r": np.sqrt(tail(s, 0) / s.sum()),
        "take the square root: the sums give the SQUARED norms": tail(sq, 0) / sq.sum(),
        "the error of rank r leaves out sigma_1 .. sigma_r and keeps the rest: sum over i > r (entry 0 is 1)":
            np.sqrt(np.append(tail(sq, 1)[:-1], 0.0) / sq.sum()),
        "divide by ||M||_F (the square root of the sum of all sigma_i^2): the error is relative":
            np.sqrt(tail(sq, 0)),
    }
    same("errors", got, want, "errors[r] = sqrt(sum_{i > r} sigma_i^2 / sum_i sigma_i^2)", atol=1e-10,
         variants=variants)
    return Outcome(True, "errors[r] = sqrt(sum over i > r of sigma_i^2 / sum of all sigma_i^2), r = 0 .. k")


CHECKS: dict[str, Check] = check_table((
    Check("svd", "U, s and V^T from the eigen-decomposition of M^T M", _collect_svd, _judge_svd),
    Check("factor", "B (d, r) and A (r, k) with B A the best rank-r approximation", _collect_factor, _judge_factor),
    Check("errors", "the Eckart-Young error for every rank from the singular values", _collect_errors, _judge_errors),
), {
    "svd": (('svd_by_eig',),
        ('lora_course.lowrank.singular_values',
         'lora_course.lowrank.factorize',
         'lora_course.lowrank.best_rank_r')),
    "factor": (('factor_rank_r',),
        ('lora_course.lowrank.factorize',
         'lora_course.lowrank.best_rank_r')),
    "errors": (('rank_r_errors',),
        ('lora_course.lowrank.approximation_errors',
         'lora_course.lowrank.approximation_error',
         'lora_course.lowrank.best_rank_r')),
})


judge_safely, run_check = lesson_runners(CHECKS, make_inputs)
