"""The student walk's own functions for lessons 01 and 02 (rows in ``tests/student_walk.py``)."""

from __future__ import annotations

import numpy as np

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
