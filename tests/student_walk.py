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

from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass(frozen=True)
class Right:
    lesson: str
    task: str
    label: str
    replaces: dict


NOTEBOOK_M = np.random.default_rng(0).normal(size=(6, 4))       # a notebook variable a function may read by mistake
NOTEBOOK_ALPHA = 12.0


# ------------------------------------------------------------------------------------------------- lesson 01

def svd_argsort_einsum(M: np.ndarray, eps: float = 0.0) -> list:
    """argsort, einsum, clip, a list returned and a print inside."""
    w, V = np.linalg.eigh(np.einsum("ij,ik->jk", M, M))
    order = np.argsort(-w)
    w, V = w[order], V[:, order]
    s = np.sqrt(np.clip(w, 0, None))
    print("shapes", M.shape, s.shape)
    return [np.einsum("dk,k->dk", M @ V, 1 / s), s, V.T]


def svd_dot_views(M):
    lam, V = np.linalg.eigh(np.dot(M.T, M))
    lam, V = lam[::-1], V[:, ::-1]                     # views, not copies
    s = lam ** 0.5
    return np.dot(np.dot(M, V), np.diag(1.0 / s)), s, V.T


def svd_sign_fixed(M):
    vals, vecs = np.linalg.eigh(M.T @ M)
    idx = vals.argsort()[::-1]
    vals, vecs = vals[idx], vecs[:, idx]
    vecs = vecs * np.sign(vecs[np.argmax(np.abs(vecs), axis=0), range(vecs.shape[1])])
    s = np.sqrt(vals)
    return (M @ vecs) / s, s, vecs.T.copy()


def svd_hard_coded(M):
    lam, V = np.linalg.eigh(M.T @ M)
    lam, V = lam[::-1], V[:, ::-1]
    s = np.sqrt(lam)
    U = np.zeros((6, 4))                               # the first input's sizes, typed in
    for i in range(4):
        U[:, i] = M @ V[:, i] / s[i]
    return U, s, V.T


def svd_column_s(M):
    lam, V = np.linalg.eigh(M.T @ M)
    lam, V = lam[::-1], V[:, ::-1]
    s = np.sqrt(lam)
    return (M @ V) / s, s[:, None], V.T


def svd_order(M):
    lam, V = np.linalg.eigh(M.T @ M)
    lam, V = lam[::-1], V[:, ::-1]
    s = np.sqrt(lam)
    return (M @ V) / s, V.T, s


def svd_library(M):
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return U, s, Vt


def svd_notebook_M(M_in):
    M = NOTEBOOK_M
    lam, V = np.linalg.eigh(M.T @ M)
    lam, V = lam[::-1], V[:, ::-1]
    s = np.sqrt(lam)
    return (M @ V) / s, s, V.T


def factor_sqrt_split(svd):
    def factor_rank_r(M, r):
        U, s, Vt = svd(M)
        root = np.sqrt(s[:r])
        return U[:, :r] * root, root[:, None] * Vt[:r]
    return factor_rank_r


def factor_einsum(M: np.ndarray, r: int, full: bool = False) -> list:
    U, s, Vt = np.linalg.svd(M, full_matrices=full)
    return [U[:, :r], np.einsum("i,ik->ik", s[:r], Vt[:r, :])]


def factor_diag(M, r):
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    print("rank", r)
    return U[:, 0:r] @ np.diag(s[0:r]), Vt[0:r]


def factor_hard_coded(M, r):
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return U[:, :2] * s[:2], Vt[:2]


def factor_columns_of_vt(M, r):
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return U[:, :r] * s[:r], Vt[:, :r].T


def factor_product(M, r):
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return (U[:, :r] * s[:r]) @ Vt[:r]


def errors_reversed_cumsum(s):
    sq = s**2
    return np.sqrt(np.concatenate([np.cumsum(sq[::-1])[::-1], [0.0]]) / sq.sum())


def errors_comprehension(s):
    total = np.sum(s * s)
    return np.array([np.sqrt(np.sum(s[r:] ** 2) / total) for r in range(len(s) + 1)])


def errors_one_minus(s: np.ndarray) -> np.ndarray:
    c = np.r_[0.0, np.cumsum(s ** 2)]
    return np.sqrt(np.clip(1 - c / c[-1], 0, None))


def errors_hard_coded(s):
    out = np.zeros(8)
    for r in range(8):
        out[r] = np.sqrt(np.sum(s[r:] ** 2) / np.sum(s ** 2))
    return out


def errors_sorts_in_place(s):
    s.sort()
    c = np.r_[0.0, np.cumsum(s[::-1] ** 2)]
    return np.sqrt(np.abs(1 - c / c[-1]))


def errors_one_number(s):
    return float(np.sqrt(np.sum(s[2:] ** 2) / np.sum(s ** 2)))


def errors_column(s):
    c = np.r_[0.0, np.cumsum(s ** 2)]
    return np.sqrt(np.abs(1 - c / c[-1]))[:, None]


# ------------------------------------------------------------------------------------------------- lesson 02

def init_standard_normal(d, k, r, std, rng):
    return std * rng.standard_normal((r, k)), np.zeros((d, r), dtype=np.float64)


def init_keywords(d: int, k: int, r: int, std: float, rng: np.random.Generator, dtype=float) -> list:
    """Keyword arguments, a list, a print."""
    print("init", d, k, r)
    return [rng.normal(loc=0.0, scale=std, size=(r, k)).astype(dtype), np.zeros(shape=(d, r))]


def init_int_zeros(d, k, r, std, rng):
    B = np.full((d, r), 0)
    return rng.normal(0, 1, size=(r, k)) * std, B


def init_hard_coded(d, k, r, std, rng):
    return rng.normal(0, std, size=(6, 96)), np.zeros((40, 6))


def init_global_seed(d, k, r, std, rng):
    np.random.seed(0)
    return np.random.normal(0, std, size=(r, k)), np.zeros((d, r))


def init_uniform(d, k, r, std, rng):
    return rng.uniform(-std, std, size=(r, k)), np.zeros((d, r))


def forward_einsum(X, W0, A, B, alpha):
    r = A.shape[0]
    Z = np.einsum("nk,rk->nr", X, A)
    H = np.einsum("nk,dk->nd", X, W0) + (alpha / r) * np.einsum("nr,dr->nd", Z, B)
    return H, {"X": X, "Z": Z, "W0": W0, "A": A, "B": B, "s": alpha / r}


def backward_einsum(G, cache):
    X, Z, W0, A, B, s = (cache[k] for k in ("X", "Z", "W0", "A", "B", "s"))
    GB = G @ B
    return G @ W0 + s * GB @ A, s * np.einsum("nr,nk->rk", GB, X), s * np.einsum("nd,nr->dr", G, Z)


def forward_merged(X: np.ndarray, W0: np.ndarray, A: np.ndarray, B: np.ndarray, alpha: float, verbose=True):
    W = W0 + alpha / len(A) * (B @ A)
    if verbose:
        print("merged")
    return X @ W.T, (X, W0, A, B, alpha / len(A))


def backward_dot(G, cache):
    X, W0, A, B, s = cache
    return [np.dot(G, W0) + s * np.dot(np.dot(G, B), A), s * np.dot(np.dot(G, B).T, X), s * np.dot(G.T, X @ A.T)]


def forward_dot(X, W0, A, B, alpha):
    s = alpha * (1.0 / A.shape[0])
    return np.dot(X, W0.T) + s * np.dot(np.dot(X, A.T), B.T), (X, W0, A, B, s)


def backward_reordered(G, cache):
    X, W0, A, B, s = cache
    return G @ (W0 + s * B @ A), s * B.T @ G.T @ X, s * G.T @ X @ A.T


def forward_hard_coded_r(X, W0, A, B, alpha):
    s = alpha / 3
    return X @ W0.T + s * X @ A.T @ B.T, (X, W0, A, B, s)


def forward_cache_first(X, W0, A, B, alpha):
    s = alpha / A.shape[0]
    return (X, W0, A, B, s), X @ W0.T + s * X @ A.T @ B.T


def forward_floor(X, W0, A, B, alpha):
    s = alpha // A.shape[0]
    return X @ W0.T + s * X @ A.T @ B.T, (X, W0, A, B, s)


def forward_scales_X(X, W0, A, B, alpha):
    s = alpha / A.shape[0]
    H = X @ W0.T
    X *= s
    return H + X @ A.T @ B.T, (X, W0, A, B, s)


def forward_notebook_alpha(X, W0, A, B, a):
    s = NOTEBOOK_ALPHA / A.shape[0]
    return X @ W0.T + s * X @ A.T @ B.T, (X, W0, A, B, s)


def backward_times_n(G, cache):
    X, W0, A, B, _, s = cache                      # the solution's forward cache
    n = X.shape[0]
    return G @ W0 + s * G @ B @ A, n * s * (G @ B).T @ X, n * s * G.T @ (X @ A.T)


def backward_with_dW0(G, cache):
    X, W0, A, B, _, s = cache                      # the solution's forward cache
    return G @ W0 + s * G @ B @ A, s * (G @ B).T @ X, s * G.T @ (X @ A.T), G.T @ X


def backward_dA_unscaled(G, cache):
    X, W0, A, B, _, s = cache                      # the solution's forward cache
    return G @ W0 + s * G @ B @ A, (G @ B).T @ X, s * G.T @ (X @ A.T)


def numgrad_flat_finally(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in range(x.size):
        old = x.flat[i]
        try:
            x.flat[i] = old + h
            up = f()
            x.flat[i] = old - h
            down = f()
        finally:
            x.flat[i] = old
        grad.flat[i] = (up - down) / (2 * h)
    return grad


def numgrad_nditer(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    grad = np.empty(x.shape)
    it = np.nditer(x, flags=["multi_index"])
    while not it.finished:
        i = it.multi_index
        v = x[i]
        x[i] = v + h
        a = f()
        x[i] = v - h
        b = f()
        x[i] = v
        grad[i] = (a - b) / (2 * h)
        it.iternext()
    return grad


def numgrad_add_back(f, x, h=1e-5, verbose=False):
    """x[i] is put back by adding h again: back to within rounding."""
    g = np.zeros(x.shape)
    for idx in np.ndindex(*x.shape):
        x[idx] += h
        up = f()
        x[idx] -= 2 * h
        down = f()
        x[idx] += h
        g[idx] = (up - down) / (h + h)
    print("done")
    return g


def numgrad_first_column(f, x, h=1e-5):
    g = np.zeros(x.shape)
    for i in range(x.shape[0]):
        v = x[i, 0]
        x[i, 0] = v + h
        up = f()
        x[i, 0] = v - h
        down = f()
        x[i, 0] = v
        g[i, 0] = (up - down) / (2 * h)
    return g


def numgrad_passes_x(f, x, h=1e-5):
    g = np.zeros(x.shape)
    for idx in np.ndindex(*x.shape):
        v = x[idx]
        x[idx] = v + h
        up = f(x)
        x[idx] = v
        g[idx] = up
    return g


def numgrad_flat_list(f, x, h=1e-5):
    g = []
    for idx in np.ndindex(*x.shape):
        v = x[idx]
        x[idx] = v + h
        up = f()
        x[idx] = v - h
        down = f()
        x[idx] = v
        g.append((up - down) / (2 * h))
    return np.array(g)


# ------------------------------------------------------------------------------------------------- lesson 03

def qkv_dict_loop(X, weights, adapters, scale):
    out = {}
    for name, W in weights.items():
        Y = np.einsum("ntd,ed->nte", X, W)
        if name in adapters:
            A, B = adapters[name]
            Y = Y + scale * np.einsum("ntr,er->nte", np.einsum("ntd,rd->ntr", X, A), B)
        out[name] = Y
    return out["q"], out["k"], out["v"]


def qkv_reshape_merged(X: np.ndarray, weights: dict, adapters: dict, scale: float):
    N, T, D = X.shape
    X2 = X.reshape(-1, D)

    def proj(t):
        W = weights[t]
        if t in adapters:
            A, B = adapters[t]
            W = W + scale * B @ A
        return (X2 @ W.T).reshape(N, T, -1)
    return proj("q"), proj("k"), proj("v")


def qkv_tensordot(X, weights, adapters, scale):
    (Aq, Bq), (Av, Bv) = adapters["q"], adapters["v"]
    Q = np.tensordot(X, weights["q"], axes=([2], [1])) + scale * np.tensordot(
        np.tensordot(X, Aq, axes=([2], [1])), Bq, axes=([2], [1]))
    K = np.matmul(X, weights["k"].T)
    V = np.matmul(X, weights["v"].T) + scale * np.matmul(np.matmul(X, Av.T), Bv.T)
    return [Q, K, V]


def qkv_names_swapped(X, weights, adapters, scale):
    """The pair unpacked as (B, A) but used consistently: still X A^T B^T."""
    Bq, Aq = adapters["q"]
    Bv, Av = adapters["v"]
    return (X @ weights["q"].T + scale * X @ Bq.T @ Aq.T, X @ weights["k"].T,
            X @ weights["v"].T + scale * X @ Bv.T @ Av.T)


def qkv_hard_coded_D(X, weights, adapters, scale):
    X2 = X.reshape(-1, 7)

    def proj(t):
        W = weights[t]
        if t in adapters:
            A, B = adapters[t]
            W = W + scale * B @ A
        return (X2 @ W.T).reshape(X.shape)
    return proj("q"), proj("k"), proj("v")


def qkv_scale_over_r(X, weights, adapters, scale):
    (Aq, Bq), (Av, Bv) = adapters["q"], adapters["v"]
    r = Aq.shape[0]
    return (X @ weights["q"].T + scale / r * X @ Aq.T @ Bq.T, X @ weights["k"].T,
            X @ weights["v"].T + scale / r * X @ Av.T @ Bv.T)


def qkv_order(X, weights, adapters, scale):
    (Aq, Bq), (Av, Bv) = adapters["q"], adapters["v"]
    return (X @ weights["q"].T + scale * X @ Aq.T @ Bq.T, X @ weights["v"].T + scale * X @ Av.T @ Bv.T,
            X @ weights["k"].T)


def qkv_dict(X, weights, adapters, scale):
    (Aq, Bq), (Av, Bv) = adapters["q"], adapters["v"]
    return {"q": X @ weights["q"].T + scale * X @ Aq.T @ Bq.T, "k": X @ weights["k"].T,
            "v": X @ weights["v"].T + scale * X @ Av.T @ Bv.T}


def _top(A, n):
    return np.linalg.svd(A, full_matrices=False)[2][:n]


def phi_trace(A1, A2, i, j):
    V1, V2 = _top(A1, i).T, _top(A2, j).T
    return float(np.trace(V1 @ V1.T @ V2 @ V2.T)) / min(i, j)


def phi_eigh(A1: np.ndarray, A2: np.ndarray, i: int, j: int) -> float:
    def top(A, n):
        return np.linalg.eigh(A.T @ A)[1][:, ::-1][:, :n]
    return np.sum((top(A1, i).T @ top(A2, j)) ** 2) / np.minimum(i, j)


def phi_zero_d(A1, A2, i, j):
    Vt1, Vt2 = np.linalg.svd(A1)[2], np.linalg.svd(A2)[2]
    return np.array(np.linalg.norm(Vt1[:i] @ Vt2[:j].T, "fro") ** 2 / min(i, j))


def phi_floor(A1, A2, i, j):
    return float(np.linalg.norm(_top(A1, i) @ _top(A2, j).T) ** 2 // min(i, j))


def phi_i_j_swapped(A1, A2, i, j):
    return float(np.linalg.norm(_top(A1, j) @ _top(A2, i).T) ** 2 / min(i, j))


def phi_text(A1, A2, i, j):
    return f"{np.linalg.norm(_top(A1, i) @ _top(A2, j).T) ** 2 / min(i, j):.3f}"


# ------------------------------------------------------------------------------------------------- lesson 04

def merge_add_einsum(W0, A, B, scale):
    return np.add(W0, scale * np.einsum("dr,rk->dk", B, A))


def merge_copy_then_add(W0: np.ndarray, A: np.ndarray, B: np.ndarray, scale: float, *, copy: bool = True):
    W = W0.copy()
    W += scale * (B @ A)
    return W


def merge_transposed_twice(W0, A, B, scale):
    print("merging")
    return W0 + scale * np.dot(A.T, B.T).T


def merge_scale_on_W0(W0, A, B, scale):
    return scale * (W0 + B @ A)


def merge_hard_coded_scale(W0, A, B, scale):
    return W0 + 1.5 * B @ A


def merge_out_W0(W0, A, B, scale):
    return np.add(W0, scale * B @ A, out=W0)


def unmerge_subtract_einsum(W, A, B, scale):
    return np.subtract(W, np.einsum("dr,rk->dk", scale * B, A))


def unmerge_copy_subtract(W, A, B, scale):
    W0 = np.array(W, copy=True)
    W0 -= scale * B @ A
    return W0


def unmerge_via_negative_merge(merge):
    def unmerge_weight(W, A, B, scale):
        return merge(W, A, B, -scale)
    return unmerge_weight


def unmerge_divides(W, A, B, scale):
    return W - B @ A / scale


def unmerge_in_place(W, A, B, scale):
    W -= scale * B @ A
    return W


def unmerge_hard_coded_scale(W, A, B, scale):
    return W - 1.5 * B @ A


def switch_einsum(W: np.ndarray, old: tuple, new: tuple) -> np.ndarray:
    (A1, B1, s1), (A2, B2, s2) = old, new
    return W + np.einsum("dr,rk->dk", s2 * B2, A2) - np.einsum("dr,rk->dk", s1 * B1, A1)


def switch_indexed_copy(W, old, new):
    Wn = W.copy()
    Wn -= old[2] * old[1] @ old[0]
    Wn += new[2] * new[1] @ new[0]
    return Wn


def switch_via_own(merge, unmerge):
    def switch_weight(W, old, new):
        return merge(unmerge(W, *old), *new)
    return switch_weight


def switch_crossed_scales(W, old, new):
    (A1, B1, s1), (A2, B2, s2) = old, new
    return W + s1 * B2 @ A2 - s2 * B1 @ A1


def switch_change_only(W, old, new):
    (A1, B1, s1), (A2, B2, s2) = old, new
    return s2 * B2 @ A2 - s1 * B1 @ A1


def switch_unpacked_B_first(W, old, new):
    B1, A1, s1 = old
    B2, A2, s2 = new
    return W + s2 * A2.T @ B2.T - s1 * A1.T @ B1.T


def gathered_matmul_axis(W0: np.ndarray, A_stack, B_stack, scales, X, ids, check: bool = False):
    Z = A_stack[ids] @ X[:, :, None]                     # (n, r, 1)
    return X @ W0.T + (B_stack[ids] @ Z)[:, :, 0] * scales[ids].reshape(-1, 1)


def gathered_take(W0, A_stack, B_stack, scales, X, ids):
    A, B, s = np.take(A_stack, ids, axis=0), np.take(B_stack, ids, axis=0), np.take(scales, ids)
    return np.einsum("dk,nk->nd", W0, X) + np.einsum("n,ndr,nrk,nk->nd", s, B, A, X, optimize=True)


def gathered_per_task_weights(W0, A_stack, B_stack, scales, X, ids):
    W = W0 + (scales[:, None, None] * (B_stack @ A_stack))[ids]      # (n, d, k): each row's merged weight
    return np.einsum("ndk,nk->nd", W, X)


def gathered_hard_coded_rows(W0, A_stack, B_stack, scales, X, ids):
    Z = np.einsum("nrk,nk->nr", A_stack[ids], X)
    return X @ W0.T + np.einsum("ndr,nr->nd", B_stack[ids], Z) * scales[ids].reshape(11, 1)


def gathered_comprehension(W0, A_stack, B_stack, scales, X, ids):
    return np.array([W0 @ x + scales[t] * B_stack[t] @ A_stack[t] @ x for x, t in zip(X, ids, strict=True)])


def gathered_one_scale(W0, A_stack, B_stack, scales, X, ids):
    Z = np.einsum("nrk,nk->nr", A_stack[ids], X)
    return X @ W0.T + np.einsum("ndr,nr->nd", B_stack[ids], Z) * scales.mean()


# ------------------------------------------------------------------------------------------------- 01-04 tables

def _lessons_01_to_04(sol: dict) -> tuple[list, list]:
    s1, s4 = sol["01"], sol["04"]
    right = [
        Right("01", "svd", "argsort, einsum, clip, a list, a print", {"svd_by_eig": svd_argsort_einsum}),
        Right("01", "svd", "np.dot and reversed views", {"svd_by_eig": svd_dot_views}),
        Right("01", "svd", "signs fixed on V, U by broadcasting, a copy of V^T", {"svd_by_eig": svd_sign_fixed}),
        Right("01", "factor", "sqrt(S) in each factor, from the student's own svd_by_eig",
              {"factor_rank_r": factor_sqrt_split(s1["svd_by_eig"])}),
        Right("01", "factor", "S in A, einsum, a list, an extra keyword", {"factor_rank_r": factor_einsum}),
        Right("01", "factor", "np.diag, 0:r slices, a print", {"factor_rank_r": factor_diag}),
        Right("01", "errors", "a reversed cumulative sum", {"rank_r_errors": errors_reversed_cumsum}),
        Right("01", "errors", "a list comprehension (a loop is allowed here)", {"rank_r_errors": errors_comprehension}),
        Right("01", "errors", "1 - cumsum / total, clipped", {"rank_r_errors": errors_one_minus}),
        Right("02", "init", "std * standard_normal", {"init_lora_factors": init_standard_normal}),
        Right("02", "init", "keyword arguments, a list, a print", {"init_lora_factors": init_keywords}),
        Right("02", "init", "integer zeros for B, N(0, 1) * std for A", {"init_lora_factors": init_int_zeros}),
        Right("02", "forward", "einsum and a cache dict", {"lora_layer_forward": forward_einsum}),
        Right("02", "forward", "the merged weight, len(A), a print", {"lora_layer_forward": forward_merged}),
        Right("02", "forward", "np.dot, alpha * (1 / r)", {"lora_layer_forward": forward_dot}),
        Right("02", "backward", "einsum through a cache dict",
              {"lora_layer_forward": forward_einsum, "lora_layer_backward": backward_einsum}),
        Right("02", "backward", "np.dot, Z recomputed, a list",
              {"lora_layer_forward": forward_dot, "lora_layer_backward": backward_dot}),
        Right("02", "backward", "B^T G^T X and G (W0 + s B A)",
              {"lora_layer_forward": forward_dot, "lora_layer_backward": backward_reordered}),
        Right("02", "numerical_gradient", "flat indices, restored in finally",
              {"numerical_gradient": numgrad_flat_finally}),
        Right("02", "numerical_gradient", "np.nditer with multi_index", {"numerical_gradient": numgrad_nditer}),
        Right("02", "numerical_gradient", "x put back by adding h (equal up to rounding), a print",
              {"numerical_gradient": numgrad_add_back}),
        Right("03", "adapted_qkv", "a loop over the dict with einsum", {"adapted_qkv": qkv_dict_loop}),
        Right("03", "adapted_qkv", "2-d reshape and merged weights", {"adapted_qkv": qkv_reshape_merged}),
        Right("03", "adapted_qkv", "tensordot and matmul, a list", {"adapted_qkv": qkv_tensordot}),
        Right("03", "adapted_qkv", "the pair unpacked as (B, A) but used consistently",
              {"adapted_qkv": qkv_names_swapped}),
        Right("03", "phi", "the trace of two projections", {"subspace_similarity_phi": phi_trace}),
        Right("03", "phi", "eigh of A^T A, a numpy float", {"subspace_similarity_phi": phi_eigh}),
        Right("03", "phi", "full_matrices=True, a 0-d array", {"subspace_similarity_phi": phi_zero_d}),
        Right("04", "merge", "np.add and einsum", {"merge_weight": merge_add_einsum}),
        Right("04", "merge", "+= on a copy, a keyword-only argument", {"merge_weight": merge_copy_then_add}),
        Right("04", "merge", "(A^T B^T)^T, a print", {"merge_weight": merge_transposed_twice}),
        Right("04", "unmerge", "np.subtract and einsum", {"unmerge_weight": unmerge_subtract_einsum}),
        Right("04", "unmerge", "-= on a copy", {"unmerge_weight": unmerge_copy_subtract}),
        Right("04", "unmerge", "the student's merge with -scale",
              {"unmerge_weight": unmerge_via_negative_merge(s4["merge_weight"])}),
        Right("04", "switch", "einsum on unpacked triples", {"switch_weight": switch_einsum}),
        Right("04", "switch", "indexed triples, -= and += on a copy", {"switch_weight": switch_indexed_copy}),
        Right("04", "switch", "the student's own unmerge then merge",
              {"switch_weight": switch_via_own(s4["merge_weight"], s4["unmerge_weight"])}),
        Right("04", "gathered", "batched matmul with an extra axis", {"gathered_forward": gathered_matmul_axis}),
        Right("04", "gathered", "np.take and one einsum", {"gathered_forward": gathered_take}),
        Right("04", "gathered", "per-task merged weights, gathered", {"gathered_forward": gathered_per_task_weights}),
    ]
    second = "second input"
    wrong = [
        ("01", "svd", "sizes typed in from the first input (6, 4)", "svd_by_eig", svd_hard_coded, second),
        ("01", "svd", "s returned as a column (k, 1)", "svd_by_eig", svd_column_s, "flat vector"),
        ("01", "svd", "returns (U, Vt, s)", "svd_by_eig", svd_order, "order (U, Vt, s)"),
        ("01", "svd", "np.linalg.svd, which the task rules out", "svd_by_eig", svd_library, "SVD routine"),
        ("01", "svd", "a notebook matrix read instead of M", "svd_by_eig", svd_notebook_M, "notebook variable"),
        ("01", "factor", "r typed in (2)", "factor_rank_r", factor_hard_coded, second),
        ("01", "factor", "A from the first r columns of V^T", "factor_rank_r", factor_columns_of_vt, "ROWS of V^T"),
        ("01", "factor", "returns the product B A", "factor_rank_r", factor_product, "should return 2 values"),
        ("01", "errors", "k typed in (8 values)", "rank_r_errors", errors_hard_coded, second),
        ("01", "errors", "sorts s in place", "rank_r_errors", errors_sorts_in_place, "in place"),
        ("01", "errors", "returns one number", "rank_r_errors", errors_one_number, "not a numeric numpy array"),
        ("01", "errors", "returns a column (k + 1, 1)", "rank_r_errors", errors_column, "1-d array"),
        ("02", "init", "shapes typed in", "init_lora_factors", init_hard_coded, second),
        ("02", "init", "np.random.seed and np.random (rng ignored)", "init_lora_factors", init_global_seed,
         "ignores its rng"),
        ("02", "init", "uniform, not normal", "init_lora_factors", init_uniform, "std 0.05"),
        ("02", "forward", "r typed in (3)", "lora_layer_forward", forward_hard_coded_r, second),
        ("02", "forward", "returns (cache, H)", "lora_layer_forward", forward_cache_first, "returns (cache, H)"),
        ("02", "forward", "alpha // r", "lora_layer_forward", forward_floor, "floor division"),
        ("02", "forward", "X scaled in place", "lora_layer_forward", forward_scales_X, "in place"),
        ("02", "forward", "alpha read from a notebook variable", "lora_layer_forward", forward_notebook_alpha,
         "notebook variable"),
        ("02", "backward", "gradients multiplied by n", "lora_layer_backward", backward_times_n, "multiply by n"),
        ("02", "backward", "dW0 returned too", "lora_layer_backward", backward_with_dW0, "should return 3"),
        ("02", "backward", "dA without the scale", "lora_layer_backward", backward_dA_unscaled, "scale"),
        ("02", "numerical_gradient", "only the first column nudged", "numerical_gradient", numgrad_first_column,
         "grad"),
        ("02", "numerical_gradient", "f(x) called with an argument", "numerical_gradient", numgrad_passes_x,
         "wrong number of arguments"),
        ("02", "numerical_gradient", "a flat gradient", "numerical_gradient", numgrad_flat_list, "expected shape"),
        ("03", "adapted_qkv", "D typed in (7)", "adapted_qkv", qkv_hard_coded_D, second),
        ("03", "adapted_qkv", "scale divided by r again", "adapted_qkv", qkv_scale_over_r, "divide by r again"),
        ("03", "adapted_qkv", "returns (Q, V, K)", "adapted_qkv", qkv_order, "order (Q, V, K)"),
        ("03", "adapted_qkv", "a dict returned", "adapted_qkv", qkv_dict, "should return 3 values"),
        ("03", "phi", "// instead of /", "subspace_similarity_phi", phi_floor, "floor division"),
        ("03", "phi", "i and j swapped", "subspace_similarity_phi", phi_i_j_swapped, "transpose"),
        ("03", "phi", "a formatted string", "subspace_similarity_phi", phi_text, "not one number"),
        ("04", "merge", "the scale on W0 too", "merge_weight", merge_scale_on_W0, "not scale (W0 + B A)"),
        ("04", "merge", "the scale typed in (1.5)", "merge_weight", merge_hard_coded_scale, second),
        ("04", "merge", "np.add(..., out=W0)", "merge_weight", merge_out_W0, "in place"),
        ("04", "unmerge", "divided by the scale", "unmerge_weight", unmerge_divides, "do not divide"),
        ("04", "unmerge", "W -= ... on the argument", "unmerge_weight", unmerge_in_place, "in place"),
        ("04", "unmerge", "the scale typed in (1.5)", "unmerge_weight", unmerge_hard_coded_scale, second),
        ("04", "switch", "scales crossed", "switch_weight", switch_crossed_scales, "crossed"),
        ("04", "switch", "the change alone", "switch_weight", switch_change_only, "add W"),
        ("04", "switch", "triples unpacked as (B, A, scale)", "switch_weight", switch_unpacked_B_first, "line"),
        ("04", "gathered", "eleven rows typed in", "gathered_forward", gathered_hard_coded_rows, second),
        ("04", "gathered", "a list comprehension over rows", "gathered_forward", gathered_comprehension,
         "list comprehension"),
        ("04", "gathered", "one mean scale for the batch", "gathered_forward", gathered_one_scale, "H"),
    ]
    return right, wrong


# ------------------------------------------------------------------------------------------------- lesson 05

def _lesson05(sol: dict) -> tuple[list, list]:
    base, hidden, bce, Network = sol["LoRA"], sol["hidden"], sol["bce_with_logits"], sol["FrozenNetwork"]
    fwd, bwd = sol["adapted_forward"], sol["adapted_backward"]

    class EinsumLoRA(base):
        def __init__(self, d_in, d_out, r, *, rng=None, alpha=None, init_scale=0.01):
            self.r = int(r)
            self.alpha = r if alpha is None else alpha
            self.scale = self.alpha / self.r
            self.A = init_scale * rng.standard_normal((r, d_in))
            self.B = np.zeros((d_out, r))
            self.dA, self.dB = np.zeros_like(self.A), np.zeros_like(self.B)

        def forward(self, x):
            z = np.einsum("nk,rk->nr", x, self.A)
            return self.scale * np.einsum("nr,dr->nd", z, self.B), {"x": x, "z": z}

        def backward(self, g, cache):
            x, z = cache["x"], cache["z"]
            self.dB = self.scale * np.einsum("nd,nr->dr", g, z)
            dz = self.scale * g @ self.B
            self.dA = dz.T @ x
            return dz @ self.A

        def update(self, lr):
            self.A = self.A - lr * self.dA              # new arrays, not in place
            self.B = self.B - lr * self.dB

        def get_merged_delta(self):
            return self.scale * np.einsum("dr,rk->dk", self.B, self.A)

    class MergedLoRA(base):
        def forward(self, x):
            return x @ self.get_merged_delta().T, x

        def backward(self, g, x):
            self.dB = self.scale * g.T @ (x @ self.A.T)
            self.dA = self.scale * self.B.T @ g.T @ x
            return g @ self.get_merged_delta()

    class ListCacheLoRA(base):
        def forward(self, x):
            z = np.dot(x, self.A.T)
            return self.scale * np.dot(z, self.B.T), [x, z]

        def backward(self, g, cache):
            x, z = cache
            self.dB = self.scale * np.dot(g.T, z)
            self.dA = self.scale * np.dot(np.dot(g, self.B).T, x)
            return self.scale * np.dot(np.dot(g, self.B), self.A)

        def update(self, lr):
            np.subtract(self.A, lr * self.dA, out=self.A)      # in place on its own factors: allowed
            np.subtract(self.B, lr * self.dB, out=self.B)

    class FloorLoRA(base):
        def __init__(self, d_in, d_out, r, *, rng=None, alpha=None, init_scale=0.01):
            base.__init__(self, d_in, d_out, r, alpha, init_scale, rng)
            self.scale = self.alpha // self.r

    class UpdatesOnlyA(base):
        def update(self, lr):
            self.A -= lr * self.dA

    class CacheFirst(base):
        def forward(self, x):
            delta, cache = base.forward(self, x)
            return cache, delta

    class BackwardReturnsNothing(base):
        def backward(self, g, cache):
            base.backward(self, g, cache)

    class FixedShapes(base):
        def __init__(self, d_in, d_out, r, *, rng=None, alpha=None, init_scale=0.01):
            base.__init__(self, d_in, d_out, r, alpha, init_scale, rng)
            self.A, self.B = rng.normal(0, init_scale, size=(4, 16)), np.zeros((8, 4))

    def forward_explicit_relu(X, net, lora_1, lora_2):
        h1 = np.maximum(X @ net.W1 + net.b1, 0.0)
        d1, c1 = lora_1.forward(h1)
        h2 = np.add(h1 @ net.W2 + net.b2, d1)
        d2, c2 = lora_2.forward(h2)
        print("out", h2.shape)
        return [h2 + d2, (c1, c2)]

    def forward_wide_cache(X, net, lora_1, lora_2):
        h1 = hidden(X, net)
        d1, c1 = lora_1.forward(h1)
        h2 = h1.dot(net.W2) + net.b2 + d1
        d2, c2 = lora_2.forward(h2)
        return h2 + d2, (c1, c2, h1, h2)

    def backward_wide_cache(grad_out, cache, lora_1, lora_2):
        c1, c2, _, _ = cache
        grad_h2 = grad_out.copy()
        grad_h2 += lora_2.backward(grad_out, c2)
        lora_1.backward(grad_h2, c1)
        return grad_h2

    def forward_named(X: np.ndarray, net, lora_1, lora_2, *, verbose: bool = False):
        """Type hints, a keyword-only flag and a docstring."""
        pre = X @ net.W1 + net.b1
        h1 = pre * (pre > 0)
        h2 = h1 @ net.W2 + net.b2 + lora_1.forward(h1)[0]
        cache_2 = lora_2.forward(h2)
        return h2 + cache_2[0], (lora_1.forward(h1)[1], cache_2[1])

    def backward_sum(grad_out, cache, lora_1, lora_2):
        grad_h2 = sum([grad_out, lora_2.backward(grad_out, cache[1])])
        lora_1.backward(grad_h2, cache[0])
        return grad_h2

    def backward_no_lora_1(grad_out, cache, lora_1, lora_2):
        return grad_out + lora_2.backward(grad_out, cache[1])

    def train_map_floats(X, y, net, lora_1, lora_2, head, epochs=300, lr=0.3):
        losses = []
        for _ in range(int(epochs)):
            out, cache = fwd(X, net, lora_1, lora_2)
            logits, head_cache = head.forward(out)
            loss, dlogits = bce(logits, y)
            bwd(head.backward(dlogits, head_cache), cache, lora_1, lora_2)
            for module in [lora_1, lora_2, head]:
                module.update(lr)
            losses += [loss]
        return list(map(float, losses))

    def train_generator(X, y, net, lora_1, lora_2, head, epochs=300, lr=0.3):
        def epoch():
            out, cache = fwd(X, net, lora_1, lora_2)
            logits, head_cache = head.forward(out)
            loss, dlogits = bce(logits, y)
            bwd(head.backward(dlogits, head_cache), cache, lora_1, lora_2)
            lora_1.update(lr)
            lora_2.update(lr)
            head.update(lr)
            return loss
        return [epoch() for _ in range(epochs)]

    def train_loss_after_update(X, y, net, lora_1, lora_2, head, epochs=300, lr=0.3):
        losses = []
        for _ in range(epochs):
            out, cache = fwd(X, net, lora_1, lora_2)
            logits, head_cache = head.forward(out)
            _, dlogits = bce(logits, y)
            bwd(head.backward(dlogits, head_cache), cache, lora_1, lora_2)
            for module in (lora_1, lora_2, head):
                module.update(lr)
            losses.append(bce(head.forward(fwd(X, net, lora_1, lora_2)[0])[0], y)[0])
        return losses

    def merge_multi_dot(net, lora_1, lora_2):
        I_M = np.identity(net.W2.shape[1]) + lora_2.get_merged_delta().T
        W2 = np.linalg.multi_dot([net.W2 + lora_1.get_merged_delta().T, I_M])
        return Network(W1=net.W1.copy(), b1=net.b1.copy(), W2=W2, b2=np.dot(net.b2, I_M))

    def merge_copies_then_iadd(net, lora_1, lora_2):
        W2, b2 = net.W2.copy(), net.b2.copy()
        W2 += lora_1.get_merged_delta().T
        M = lora_2.get_merged_delta().T
        W2, b2 = W2 + W2 @ M, b2 + b2 @ M
        return Network(net.W1.copy(), net.b1.copy(), W2, b2)

    def forward_relu_on_h2(X, net, lora_1, lora_2):
        h1 = hidden(X, net)
        d1, c1 = lora_1.forward(h1)
        h2 = np.maximum(h1 @ net.W2 + net.b2 + d1, 0)
        d2, c2 = lora_2.forward(h2)
        return h2 + d2, (c1, c2)

    def forward_delta1_twice(X, net, lora_1, lora_2):
        h1 = hidden(X, net)
        d1, c1 = lora_1.forward(h1)
        h2 = h1 @ net.W2 + net.b2 + d1
        d2, c2 = lora_2.forward(h2)
        return h2 + d2 + d1, (c1, c2)

    def forward_returns_h1(X, net, lora_1, lora_2):
        h1 = hidden(X, net)
        d1, c1 = lora_1.forward(h1)
        h2 = h1 @ net.W2 + net.b2 + d1
        return h1, (c1, lora_2.forward(h2)[1])

    def backward_named_steps(grad_out, cache, lora_1, lora_2):
        via_lora_2 = lora_2.backward(grad_out, cache[1])
        g = np.add(grad_out, via_lora_2)
        lora_1.backward(g, cache[0])
        return g

    def backward_multiplies(grad_out, cache, lora_1, lora_2):
        g = grad_out * lora_2.backward(grad_out, cache[1])
        lora_1.backward(g, cache[0])
        return g

    def backward_returns_grad_h1(grad_out, cache, lora_1, lora_2):
        g = grad_out + lora_2.backward(grad_out, cache[1])
        return lora_1.backward(g, cache[0])

    def train_while(X, y, net, lora_1, lora_2, head, epochs=300, lr=0.3):
        losses, e = np.zeros(epochs), 0
        while e < epochs:
            out, cache = fwd(X, net, lora_1, lora_2)
            logits, head_cache = head.forward(out)
            loss, dlogits = bce(logits, y)
            bwd(head.backward(dlogits, head_cache), cache, lora_1, lora_2)
            for module in (head, lora_2, lora_1):
                module.update(lr)
            losses[e], e = float(loss), e + 1
        return losses

    def train_update_first(X, y, net, lora_1, lora_2, head, epochs=300, lr=0.3):
        losses = []
        for _ in range(epochs):
            out, cache = fwd(X, net, lora_1, lora_2)
            logits, head_cache = head.forward(out)
            loss, dlogits = bce(logits, y)
            for module in (lora_1, lora_2, head):
                module.update(lr)
            bwd(head.backward(dlogits, head_cache), cache, lora_1, lora_2)
            losses.append(loss)
        return losses

    def train_fixed_lr(X, y, net, lora_1, lora_2, head, epochs=300, lr=0.3):
        losses = []
        for _ in range(epochs):
            out, cache = fwd(X, net, lora_1, lora_2)
            logits, head_cache = head.forward(out)
            loss, dlogits = bce(logits, y)
            bwd(head.backward(dlogits, head_cache), cache, lora_1, lora_2)
            for module in (lora_1, lora_2, head):
                module.update(0.3)
            losses.append(loss)
        return losses

    def merge_einsum(net, lora_1, lora_2):
        M = lora_2.get_merged_delta().T
        W2 = net.W2 + lora_1.get_merged_delta().T
        return Network(net.W1.copy(), net.b1.copy(), W2 + np.einsum("fd,de->fe", W2, M), net.b2 + net.b2 @ M)

    def merge_M_untransposed(net, lora_1, lora_2):
        M = lora_2.get_merged_delta()
        W2 = net.W2 + lora_1.get_merged_delta().T
        return Network(net.W1.copy(), net.b1.copy(), W2 + W2 @ M, net.b2 + net.b2 @ M)

    def merge_order(net, lora_1, lora_2):
        I_M = np.eye(net.W2.shape[1]) + lora_2.get_merged_delta().T
        return Network(net.W1.copy(), net.b1.copy(), net.W2 @ I_M + lora_1.get_merged_delta().T, net.b2 @ I_M)

    def merge_returns_net(net, lora_1, lora_2):
        I_M = np.eye(net.W2.shape[1]) + lora_2.get_merged_delta().T
        net.W2 = (net.W2 + lora_1.get_merged_delta().T) @ I_M
        net.b2 = net.b2 @ I_M
        return net

    right = [Right("05", check, "einsum, a cache dict, updates that build new arrays", {"LoRA": EinsumLoRA})
             for check in ("lora_init", "lora_forward", "lora_backward", "lora_update", "merged_delta")]
    right += [
        Right("05", "lora_forward", "forward through the merged delta", {"LoRA": MergedLoRA}),
        Right("05", "lora_backward", "backward with z recomputed", {"LoRA": MergedLoRA}),
        *(Right("05", check, "np.dot, a list cache, np.subtract(..., out=self.A) on its own factors",
                {"LoRA": ListCacheLoRA}) for check in ("lora_forward", "lora_backward", "lora_update")),
        Right("05", "adapted_forward", "h1.dot(W2), a cache of four", {"adapted_forward": forward_wide_cache}),
        Right("05", "adapted_forward", "relu as pre * (pre > 0), type hints, a keyword-only flag",
              {"adapted_forward": forward_named}),
        Right("05", "exact_backprop", "a cache of four, grad_out.copy() then +=",
              {"adapted_forward": forward_wide_cache, "adapted_backward": backward_wide_cache}),
        Right("05", "exact_backprop", "sum([...])", {"adapted_backward": backward_sum}),
        Right("05", "train_step", "losses += [loss], map(float, ...)", {"train_task": train_map_floats}),
        Right("05", "train_step", "an inner function per epoch and a comprehension", {"train_task": train_generator}),
        Right("05", "merge_equivalence", "np.linalg.multi_dot, keyword arguments", {"merge_network": merge_multi_dot}),
        Right("05", "merge_equivalence", "copies, += on the copy", {"merge_network": merge_copies_then_iadd}),
        Right("05", "adapted_forward", "an explicit relu, a list, a print", {"adapted_forward": forward_explicit_relu}),
        Right("05", "exact_backprop", "named steps and np.add", {"adapted_backward": backward_named_steps}),
        Right("05", "train_step", "a while loop, the head updated first, an array of losses",
              {"train_task": train_while}),
        Right("05", "merge_equivalence", "einsum and b2 + b2 M", {"merge_network": merge_einsum}),
    ]
    wrong = [
        ("05", "lora_init", "scale = alpha // r", "LoRA", FloorLoRA, "floor division"),
        ("05", "lora_init", "shapes typed in", "LoRA", FixedShapes, "expected shape"),
        ("05", "lora_update", "only A updated", "LoRA", UpdatesOnlyA, "B -= lr * dB"),
        ("05", "lora_forward", "forward returns (cache, delta)", "LoRA", CacheFirst, "returns (cache, result)"),
        ("05", "lora_backward", "backward returns nothing", "LoRA", BackwardReturnsNothing, "returns nothing"),
        ("05", "adapted_forward", "a relu on h2", "adapted_forward", forward_relu_on_h2, "no relu after W2"),
        ("05", "adapted_forward", "lora_1's delta added twice", "adapted_forward", forward_delta1_twice,
         "once more"),
        ("05", "exact_backprop", "adapted_forward returns h1 (n, d_ff), not out", "adapted_forward",
         forward_returns_h1, "expected (n, d)"),
        ("05", "exact_backprop", "lora_1.backward never called", "adapted_backward", backward_no_lora_1, "dA1"),
        ("05", "train_step", "the loss recorded after the update", "train_task", train_loss_after_update,
         "loss before the update"),
        ("05", "exact_backprop", "the two paths multiplied", "adapted_backward", backward_multiplies, "grad_out +"),
        ("05", "exact_backprop", "returns the gradient wrt h1", "adapted_backward", backward_returns_grad_h1,
         "expected shape"),
        ("05", "train_step", "updates before the backward pass", "train_task", train_update_first,
         "before the backward pass"),
        ("05", "train_step", "lr typed in (0.3)", "train_task", train_fixed_lr, "the lr argument"),
        ("05", "merge_equivalence", "lora_2's M not transposed", "merge_network", merge_M_untransposed,
         "differs from the adapted one"),
        ("05", "merge_equivalence", "(I + M) before lora_1 is added", "merge_network", merge_order,
         "differs from the adapted one"),
        ("05", "merge_equivalence", "the frozen network merged in place", "merge_network", merge_returns_net,
         "changed the frozen"),
    ]
    return right, wrong


def right(solutions: dict) -> list[Right]:
    """Right answers of lessons 01-05, each a dict of the names it replaces in that lesson's solution."""
    return _lessons_01_to_04(solutions)[0] + _lesson05(solutions["05"])[0]


def wrong(solutions: dict) -> list[tuple]:
    """(lesson, task, label, replaces, fn, words) of each new mistake of lessons 01-05."""
    return _lessons_01_to_04(solutions)[1] + _lesson05(solutions["05"])[1]


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
