"""The student walk's own functions for lessons 03 and 04 (rows in ``tests/student_walk.py``)."""

from __future__ import annotations

import numpy as np

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
