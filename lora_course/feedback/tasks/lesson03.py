"""Checks of lesson 03's implement-it tasks: LoRA on the attention projections Wq and Wv, and phi (paper, 7.2).

The student writes (names in the notebook):

    adapted_qkv(X, weights, adapters, scale) -> (Q, K, V)
        X (N, T, D); weights {"q", "k", "v"} -> (D, D) applied to rows as X W^T; adapters {"q": (A, B), "v": (A, B)}
        with A (r, D), B (D, r): Q = X Wq^T + scale X Aq^T Bq^T, K = X Wk^T, V = X Wv^T + scale X Av^T Bv^T
    subspace_similarity_phi(A1, A2, i, j) -> float
        ||U1_i^T U2_j||_F^2 / min(i, j), U_i the top-i right-singular vectors (columns of V, rows of V^T)
"""

from __future__ import annotations

import numpy as np

from lora_course.analysis import subspace_similarity_grid
from lora_course.feedback.tasks.common import (
    Check,
    Diagnosis,
    Outcome,
    array,
    call,
    check_seed,
    check_table,
    fail,
    floats,
    get,
    in_order,
    lesson_runners,
    parts,
    returned_number,
    same,
    unchanged,
    with_second,
)
from lora_course.toy.attention import projection_forward


def make_inputs(seed: int) -> dict:
    """Inputs of the checks, drawn from ``seed``: a (3, 5, 7) batch, rank-2 adapters with scale 2.5 (N, T, D, r
    and the scale all differ, none another's product), and three A's for phi; and a second set of other sizes
    (a (2, 4, 6) batch, rank 3, scale 0.75; A's of ranks 2, 4, 2 over k = 9)."""
    rng = np.random.default_rng([check_seed(seed), 3])
    first = _draw(rng, (3, 5, 7), 2, 2.5, (3, 5, 3), 8)
    second = _draw(rng, (2, 4, 6), 3, 0.75, (2, 4, 2), 9)
    return with_second({"seed": int(seed), **first}, second,
                       "X of shape (2, 4, 6), rank-3 adapters, scale 0.75; A1, A2 of ranks 2 and 4 over k = 9")


def _draw(rng: np.random.Generator, batch: tuple[int, int, int], r: int, scale: float, ranks: tuple[int, int, int],
          k: int) -> dict:
    D = batch[2]
    out = {"scale": scale, "X": rng.normal(size=batch)}
    for t in "qkv":
        out[f"W{t}"] = rng.normal(size=(D, D))
    for t in "qv":
        out[f"A{t}"], out[f"B{t}"] = rng.normal(size=(r, D)), rng.normal(size=(D, r))
    out.update(A1=rng.normal(size=(ranks[0], k)), A2=rng.normal(size=(ranks[1], k)),
               A3=rng.normal(size=(ranks[2], k)))
    return out


# ----------------------------------------------------------------------------- student side (collect)

def _collect_qkv(ns: dict, inputs: dict) -> dict:
    X = floats(inputs["X"])
    weights = {t: floats(inputs[f"W{t}"]) for t in "qkv"}
    adapters = {t: (floats(inputs[f"A{t}"]), floats(inputs[f"B{t}"])) for t in "qv"}
    result = call("adapted_qkv", get(ns, "adapted_qkv"), X, weights, adapters, float(inputs["scale"]))
    Q, K, V = parts(result, ("Q", "K", "V"), "adapted_qkv")
    out = {"Q": Q, "K": K, "V": V, "X_after": X}
    out.update({f"W{t}_after": w for t, w in weights.items()})
    out.update({f"A{t}_after": adapters[t][0] for t in "qv"})
    out.update({f"B{t}_after": adapters[t][1] for t in "qv"})
    return out


def _grid(phi, A1: np.ndarray, A2: np.ndarray) -> np.ndarray:
    return np.array([[returned_number("subspace_similarity_phi's result",
                                      call("subspace_similarity_phi", phi, floats(A1), floats(A2), i, j))
                      for j in range(1, A2.shape[0] + 1)] for i in range(1, A1.shape[0] + 1)])


def _collect_phi(ns: dict, inputs: dict) -> dict:
    phi = get(ns, "subspace_similarity_phi")
    out = {"grid_same_rank": _grid(phi, inputs["A1"], inputs["A3"])}
    try:
        out["grid"] = _grid(phi, inputs["A1"], inputs["A2"])
    except Diagnosis as found:                      # judged: the same-rank grid names the likely mistake first
        out["raised_for_different_ranks"] = found.message
    return out


# ---------------------------------------------------------------------------------- grader side (judge)

def _judge_qkv(data: dict, inputs: dict) -> Outcome:
    X, s = np.asarray(inputs["X"], float), float(inputs["scale"])
    W = {t: np.asarray(inputs[f"W{t}"], float) for t in "qkv"}
    AB = {t: (np.asarray(inputs[f"A{t}"], float), np.asarray(inputs[f"B{t}"], float)) for t in "qv"}
    for name in ("X", "Wq", "Wk", "Wv", "Aq", "Bq", "Av", "Bv"):
        unchanged(name, inputs[name], array(data, f"{name}_after"),
                  "the frozen weights and the adapters are inputs: build new arrays, never write into them")

    def branch(t: str) -> np.ndarray:
        A, B = AB[t]
        return X @ A.T @ B.T                                             # (N, T, D): matmul acts on the last axis

    frozen = {t: X @ W[t].T for t in "qkv"}
    N, T, D = X.shape

    def reference(t: str) -> np.ndarray:
        lora = (*AB[t], s) if t in AB else None
        return projection_forward(X.reshape(N * T, D), W[t], lora)[0].reshape(N, T, D)

    want = {"Q": reference("q"), "K": reference("k"), "V": reference("v")}
    got = {name: array(data, name) for name in "QKV"}
    in_order("adapted_qkv", got, want, atol=1e-10)
    if np.allclose(got["K"], frozen["k"] + s * branch("v"), atol=1e-10) and np.allclose(got["V"], frozen["v"]):
        fail("K carries the adapter and V does not", "the paper adapts Wq and Wv: V gets adapters['v'], K stays frozen")
    if np.allclose(got["Q"], frozen["q"] + s * branch("v"), atol=1e-10):
        fail("Q uses the adapter of v", "each projection has its own pair: Q uses adapters['q'], V adapters['v']")
    for name, t in (("Q", "q"), ("K", "k"), ("V", "v")):
        variants = {f"apply the weight to rows as X @ W{t}.T (not X @ W{t})": X @ W[t] + (want[name] - frozen[t]),
                    f"the frozen path X W{t}^T is missing": want[name] - frozen[t]}
        if t != "k":
            variants.update({
                f"the scale is missing from {name}'s branch": frozen[t] + branch(t),
                "scale is already alpha / r: multiply the branch by it, do not divide by r again":
                    frozen[t] + s / AB[t][0].shape[0] * branch(t),
                f"{name} has no LoRA branch: add scale * X A^T B^T with adapters['{t}']": frozen[t],
                "A projects down first: X @ A.T, then @ B.T (you multiplied by B first: X B A)":
                    frozen[t] + s * X @ AB[t][1] @ AB[t][0],
            })
        else:
            variants["Wk is not adapted in this task (the paper's choice is Wq and Wv): K = X Wk^T"] = \
                frozen["k"] + s * branch("q")
        same(name, got[name], want[name], f"{name} = X W{t}^T" + (f" + scale X A{t}^T B{t}^T" if t != "k" else ""),
             atol=1e-10, variants=variants)
    return Outcome(True, "Q and V carry their own LoRA branch, K is frozen, on a (N, T, D) batch")


def _phi_grid(U1: np.ndarray, U2: np.ndarray, power: float = 2.0, norm: str = "min",
              shape: tuple[int, int] | None = None) -> np.ndarray:
    """phi(i, j) from bases U1, U2 whose first i (j) columns are used; ``shape`` = (r1, r2) (default: their widths)."""
    r1, r2 = shape or (U1.shape[1], U2.shape[1])
    grid = np.zeros((r1, r2))
    for i in range(1, r1 + 1):
        for j in range(1, r2 + 1):
            value = np.linalg.norm(U1[:, :i].T @ U2[:, :j]) ** power
            grid[i - 1, j - 1] = value / {"min": min(i, j), "max": max(i, j), "none": 1}[norm]
    return grid


def _right(A: np.ndarray) -> np.ndarray:
    return np.linalg.svd(np.asarray(A, float), full_matrices=False)[2].T    # (k, r): columns = right vectors


def _judge_phi(data: dict, inputs: dict) -> Outcome:
    A1, A3 = np.asarray(inputs["A1"], float), np.asarray(inputs["A3"], float)
    V1, V3 = _right(A1), _right(A3)
    U1, U3 = np.linalg.svd(A1)[0], np.linalg.svd(A3)[0]
    Vt1, Vt3 = V1.T, V3.T
    variants = {
        "square the Frobenius norm: phi = ||U_i^T U_j||_F^2 / min(i, j)": _phi_grid(V1, V3, power=1.0),
        "divide by min(i, j), not max(i, j)": _phi_grid(V1, V3, norm="max"),
        "divide by min(i, j): phi lies in [0, 1]": _phi_grid(V1, V3, norm="none"),
        "// is floor division, which rounds phi down to 0 or 1: divide with /": np.floor(_phi_grid(V1, V3)),
        "wrong singular vectors: use the RIGHT-singular vectors of A (rows of V^T, k-dimensional), not the left "
        "ones (columns of U)": _phi_grid(U1, U3),
        "wrong singular vectors: the top-i right-singular vectors are the first i ROWS of V^T (columns of V), "
        "not its first i columns": _phi_grid(Vt1, Vt3, shape=(A1.shape[0], A3.shape[0])),
    }
    same(f"phi on two rank-{A1.shape[0]} matrices", array(data, "grid_same_rank"), subspace_similarity_grid(A1, A3),
         "phi = ||V1[:, :i]^T V2[:, :j]||_F^2 / min(i, j) with V = Vt.T from np.linalg.svd(A)", atol=1e-10,
         variants=variants)
    if "raised_for_different_ranks" in data:
        fail(f"with A1 and A2 of different ranks ({A1.shape[0]} and {np.shape(inputs['A2'])[0]}): "
             f"{data['raised_for_different_ranks']}",
             "U_i is (k, i) for any rank: take the right-singular vectors, which live in the shared input space")
    same(f"phi for ranks {A1.shape[0]} and {np.shape(inputs['A2'])[0]}", array(data, "grid"),
         subspace_similarity_grid(A1, inputs["A2"]), "phi = ||V1[:, :i]^T V2[:, :j]||_F^2 / min(i, j)", atol=1e-10)
    return Outcome(True, "phi(i, j) = ||U_i^T U_j||_F^2 / min(i, j) on the right-singular vectors, every i and j")


CHECKS: dict[str, Check] = check_table((
    Check("adapted_qkv", "LoRA on Wq and Wv of the toy attention, K frozen", _collect_qkv, _judge_qkv),
    Check("phi", "the subspace similarity phi of the paper's Section 7.2", _collect_phi, _judge_phi),
), {
    "adapted_qkv": (('adapted_qkv',),
        ('lora_course.toy.attention.projection_forward',
         'lora_course.toy.attention.attention_forward',
         'lora_course.layer.lora_forward',
         'lora_course.layer.linear_lora_forward')),
    "phi": (('subspace_similarity_phi',),
        ('lora_course.analysis.subspace_similarity',
         'lora_course.analysis.subspace_similarity_grid')),
})


judge_safely, run_check = lesson_runners(CHECKS, make_inputs)
