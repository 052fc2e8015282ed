"""A toy Transformer classifier in numpy, with LoRA on any subset of Wq, Wk, Wv, Wo.

tokens (N, T) -> token + position embeddings -> n_layers x [pre-LN self-attention, pre-LN MLP,
each with a residual] -> final layer norm -> the last position's vector -> linear head -> logits (N, C).

Parameters live in a flat dict (``"l0.Wq"`` is layer 0's query weight, (d_model, d_model));
LoRA factors live in a second dict (``"l0.q.A"`` (r, d_model), ``"l0.q.B"`` (d_model, r)) and share
one ``scale``. ``model_forward`` returns (logits, cache); ``model_backward`` returns gradients for
every parameter and every LoRA factor; an optimizer decides which of them move.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lora_course.cache_check import check_cache
from lora_course.layer import init_lora
from lora_course.toy.attention import TARGETS, _attention_backward, _attention_forward, softmax
from lora_course.toy.layernorm import _layernorm_backward, _layernorm_forward
from lora_course.toy.mlp import _mlp_backward, _mlp_forward
from lora_course.validation import (
    InputError,
    as_array,
    as_ints,
    as_real,
    check_bool,
    check_gradient,
    check_instance,
    check_int,
    check_mapping,
    check_named,
    check_number,
    check_positive_int,
    check_rng,
    check_scale,
    check_sequence,
    check_shape,
    check_size,
)


@dataclass(frozen=True)
class ToyConfig:
    """Sizes of the toy model."""

    vocab_size: int = 32
    seq_len: int = 8
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 1
    d_ff: int = 128
    n_classes: int = 8

    def __post_init__(self) -> None:
        for name in ("vocab_size", "seq_len", "d_model", "n_heads", "n_layers", "d_ff", "n_classes"):
            check_positive_int(name, getattr(self, name))
        if self.d_model % self.n_heads:
            raise InputError(f"n_heads: expected a divisor of d_model = {self.d_model}, got {self.n_heads}")
        check_size({"d_model": self.d_model, "d_ff": self.d_ff, "n_layers": self.n_layers}, "the blocks' weights")
        check_size({"vocab_size": self.vocab_size, "d_model": self.d_model}, "the token embedding")


def layer_names(i: int) -> dict[str, str]:
    """Parameter names of layer ``i``."""
    i = check_int("i", i, 0)
    p = f"l{i}."
    return {k: p + k for k in ("ln1.g", "ln1.b", "Wq", "Wk", "Wv", "Wo", "ln2.g", "ln2.b", "W1", "b1", "W2", "b2")}


def init_params(cfg: ToyConfig, rng: np.random.Generator, dtype=np.float64) -> dict[str, np.ndarray]:
    """Random weights: embeddings N(0, 1), every (d_out, d_in) weight N(0, 1/d_in), LN at identity, zero biases."""
    check_instance("cfg", cfg, ToyConfig)
    check_rng(rng)
    try:
        kind = np.dtype(dtype).kind
    except TypeError:
        kind = ""
    if kind != "f":
        raise InputError(f"dtype: expected a float dtype such as np.float64, got {dtype!r}")
    D, F = cfg.d_model, cfg.d_ff
    p = {"tok_emb": rng.normal(0, 1, (cfg.vocab_size, D)), "pos_emb": rng.normal(0, 1, (cfg.seq_len, D))}
    for i in range(cfg.n_layers):
        n = layer_names(i)
        p[n["ln1.g"]], p[n["ln1.b"]] = np.ones(D), np.zeros(D)
        p[n["ln2.g"]], p[n["ln2.b"]] = np.ones(D), np.zeros(D)
        for t in TARGETS:
            p[n["W" + t]] = rng.normal(0, D**-0.5, (D, D))
        p[n["W1"]], p[n["b1"]] = rng.normal(0, D**-0.5, (F, D)), np.zeros(F)
        p[n["W2"]], p[n["b2"]] = rng.normal(0, F**-0.5, (D, F)), np.zeros(D)
    p["lnf.g"], p["lnf.b"] = np.ones(D), np.zeros(D)
    p["head.W"], p["head.b"] = rng.normal(0, D**-0.5, (cfg.n_classes, D)), np.zeros(cfg.n_classes)
    return {k: v.astype(dtype) for k, v in p.items()}


def init_adapters(cfg: ToyConfig, targets: tuple[str, ...], r: int, rng: np.random.Generator,
                  std: float | None = None) -> dict[str, np.ndarray]:
    """LoRA factors for ``targets`` (subset of q, k, v, o) in every layer: A (r, D) ~ N(0, std^2), B (D, r) = 0.

    ``std`` defaults to 1/sqrt(d_model), so that X A^T has entries of order 1 for unit-scale inputs.
    """
    check_instance("cfg", cfg, ToyConfig)
    check_rng(rng)
    targets = check_sequence("targets", targets)
    bad = [t for t in targets if not isinstance(t, str) or t not in TARGETS]
    if bad or not targets or len(set(targets)) != len(targets):
        raise InputError(f"targets: expected distinct names from {TARGETS}, got {tuple(targets)}")
    std = cfg.d_model**-0.5 if std is None else check_number("std", std, minimum=0)
    adapters = {}
    for i in range(cfg.n_layers):
        for t in targets:
            A, B = init_lora(cfg.d_model, cfg.d_model, r, rng, std=std)
            adapters[f"l{i}.{t}.A"], adapters[f"l{i}.{t}.B"] = A, B
    return adapters


def param_shapes(cfg: ToyConfig) -> dict[str, tuple[int, ...]]:
    """The shape of every parameter ``init_params(cfg, ...)`` creates (a bias (1,) must not broadcast for (D,))."""
    check_instance("cfg", cfg, ToyConfig)
    D, F = cfg.d_model, cfg.d_ff
    shapes = {"tok_emb": (cfg.vocab_size, D), "pos_emb": (cfg.seq_len, D)}
    for i in range(cfg.n_layers):
        n = layer_names(i)
        shapes |= {n["ln1.g"]: (D,), n["ln1.b"]: (D,), n["ln2.g"]: (D,), n["ln2.b"]: (D,),
                   **{n["W" + t]: (D, D) for t in TARGETS}, n["W1"]: (F, D), n["b1"]: (F,), n["W2"]: (D, F),
                   n["b2"]: (D,)}
    return shapes | {"lnf.g": (D,), "lnf.b": (D,), "head.W": (cfg.n_classes, D), "head.b": (cfg.n_classes,)}


def _param_names(cfg: ToyConfig) -> list[str]:
    """Names of every parameter ``init_params(cfg, ...)`` creates, in its order."""
    check_instance("cfg", cfg, ToyConfig)
    names = ["tok_emb", "pos_emb"]
    for i in range(cfg.n_layers):
        names += list(layer_names(i).values())
    return names + ["lnf.g", "lnf.b", "head.W", "head.b"]


def n_params(arrays: dict[str, np.ndarray], names=None) -> int:
    """Total number of entries of ``arrays`` (restricted to ``names`` when given)."""
    check_mapping("arrays", arrays)
    if names is not None:
        names = check_sequence("names", names)
        missing = [k for k in names if k not in arrays]
        if missing:
            raise InputError(f"names: expected keys of arrays, got unknown {missing}")
    return int(sum(as_real(f"arrays[{k!r}]", arrays[k]).size for k in (arrays if names is None else names)))


def adapter_names(cfg: ToyConfig) -> list[str]:
    """Every name an adapter dict may hold for ``cfg``: ``l{i}.{t}.A`` and ``l{i}.{t}.B`` per layer and target."""
    check_instance("cfg", cfg, ToyConfig)
    return [f"l{i}.{t}.{f}" for i in range(cfg.n_layers) for t in TARGETS for f in "AB"]


def check_adapters(adapters, cfg: ToyConfig) -> dict[str, np.ndarray]:
    """An adapter dict for ``cfg``: known names only, each A with its B, A (r, D) and B (D, r) of one rank."""
    check_named("adapters", adapters, adapter_names(cfg), pairs=(".A", ".B"))
    D = cfg.d_model
    for key in adapters:
        if key.endswith(".A"):
            A = as_array(key, adapters[key], ndim=2)
            B = as_array(key[:-2] + ".B", adapters[key[:-2] + ".B"], ndim=2)
            check_shape(key, A, (None, D), f"= (r, d_model) with d_model = {D}")
            check_shape(key[:-2] + ".B", B, (D, A.shape[0]), f"= (d_model, r) with r = {key}.shape[0]")
    return adapters


def _layer_loras(adapters: dict[str, np.ndarray], i: int, scale: float) -> dict[str, tuple]:
    return {t: (adapters[f"l{i}.{t}.A"], adapters[f"l{i}.{t}.B"], scale)
            for t in TARGETS if f"l{i}.{t}.A" in adapters}


def model_forward(params: dict[str, np.ndarray], tokens: np.ndarray, cfg: ToyConfig,
                  adapters: dict[str, np.ndarray] | None = None, scale: float = 1.0) -> tuple[np.ndarray, tuple]:
    """tokens (N, T) ints in [0, vocab_size) -> logits (N, n_classes), cache."""
    check_instance("cfg", cfg, ToyConfig)
    check_mapping("params", params, _param_names(cfg))
    for key, shape in param_shapes(cfg).items():
        check_shape(f"params[{key!r}]", params[key], shape)
    check_scale(scale)
    if adapters is not None:
        check_adapters(adapters, cfg)
    tokens = as_ints("tokens", tokens, ndim=2)
    check_shape("tokens", tokens, (None, cfg.seq_len), f"= (N, seq_len) with seq_len = {cfg.seq_len}")
    if tokens.size and (tokens.min() < 0 or tokens.max() >= cfg.vocab_size):
        raise InputError(f"tokens: expected ids in [0, {cfg.vocab_size}), got range [{tokens.min()}, {tokens.max()}]")
    return _model_forward(params, tokens, cfg, adapters or {}, scale)


def _frozen_table(params: dict[str, np.ndarray], cfg: ToyConfig) -> dict[str, np.ndarray]:
    """What a frozen bottom block computes from one token at one position, for every (position, token).

    "a": its normalised input LN1(tok_emb + pos_emb) and "q", "k", "v": a Wq^T, a Wk^T, a Wv^T, each
    (seq_len, vocab_size, D). The same rows a forward pass computes: ``_model_forward`` gathers them."""
    x = params["tok_emb"][None] + params["pos_emb"][:, None]       # (T, V, D)
    a, _ = _layernorm_forward(x, params["l0.ln1.g"], params["l0.ln1.b"])
    rows = a.reshape(-1, cfg.d_model)
    return {"a": a, **{t: (rows @ params["l0.W" + t].T).reshape(a.shape) for t in ("q", "k", "v")}}


def _model_forward(params: dict[str, np.ndarray], tokens: np.ndarray, cfg: ToyConfig,
                   adapters: dict[str, np.ndarray], scale: float,
                   frozen: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, tuple]:
    """``model_forward`` on checked inputs. The head reads the last position only, so the top block computes
    only that position's output, MLP and residual (the other positions' outputs would go unused).
    ``frozen``: ``_frozen_table(params, cfg)`` while the embeddings, LN1 and Wq, Wk, Wv of layer 0 stay fixed."""
    x = params["tok_emb"][tokens] + params["pos_emb"][None]       # (N, T, D)
    N, T, D = x.shape
    at = (np.arange(T), tokens)                                     # (position, token) of every entry
    layer_caches = []
    for i in range(cfg.n_layers):
        n = layer_names(i)
        top = i == cfg.n_layers - 1
        table = frozen if i == 0 else None
        if table is None:
            a, ln1 = _layernorm_forward(x, params[n["ln1.g"]], params[n["ln1.b"]])
        else:                                                       # (no gradient will reach LN1)
            a, ln1 = table["a"][at], None
        weights = {t: params[n["W" + t]] for t in TARGETS}
        a, att = _attention_forward(a, weights, cfg.n_heads, _layer_loras(adapters, i, scale), last_only=top,
                                    frozen=table and {t: table[t][at].reshape(N * T, D) for t in ("q", "k", "v")})
        x = (x[:, -1:] if top else x) + a                           # (N, T, D); (N, 1, D) in the top block
        m, ln2 = _layernorm_forward(x, params[n["ln2.g"]], params[n["ln2.b"]])
        rows = x.shape[1]
        m, mlp = _mlp_forward(m.reshape(N * rows, D), params[n["W1"]], params[n["b1"]], params[n["W2"]],
                              params[n["b2"]])
        x = x + m.reshape(N, rows, D)
        layer_caches.append((ln1, att, ln2, mlp))
    z, lnf = _layernorm_forward(x, params["lnf.g"], params["lnf.b"])
    last = z[:, -1, :]                                             # (N, D)
    logits = last @ params["head.W"].T + params["head.b"]          # (N, C)
    return logits, (tokens, (N, T, D), layer_caches, lnf, last, params, tuple(adapters))


def model_backward(dlogits: np.ndarray, cache: tuple, base_grads: bool = True) -> dict[str, np.ndarray]:
    """dlogits (N, C) -> gradients for every parameter name and every LoRA factor name.

    With ``base_grads=False`` (the base is frozen) only the head, final layer norm and LoRA factors get
    gradients, which skips the cost of the frozen weights' gradients.
    """
    tokens, (N, T, D), layer_caches, lnf, last, params, adapter_names = check_cache(cache, "as?tadt", "model_forward")
    dlogits = check_gradient("dlogits", dlogits, (N, params["head.W"].shape[0]), "= (N, n_classes)")
    return _model_backward(dlogits, cache, check_bool("base_grads", base_grads))


def _model_backward(dlogits: np.ndarray, cache: tuple, base_grads: bool) -> dict[str, np.ndarray]:
    """``model_backward`` on a checked dlogits and cache."""
    tokens, (N, T, D), layer_caches, lnf, last, params, adapter_names = cache
    if base_grads and layer_caches[0][0] is None:
        raise InputError("base_grads: expected False for a forward through a frozen table (layer 0 kept no cache)")
    g = {"head.W": dlogits.T @ last, "head.b": dlogits.sum(axis=0)}
    dz = (dlogits @ params["head.W"])[:, None, :]                  # (N, 1, D): the top block's only position
    dx, g["lnf.g"], g["lnf.b"] = _layernorm_backward(dz, lnf)
    below = base_grads or bool(adapter_names)   # does anything below the final layer norm need a gradient?
    for i in reversed(range(len(layer_caches)) if below else ()):
        n = layer_names(i)
        ln1, att, ln2, mlp = layer_caches[i]
        rows = dx.shape[1]                                         # T, or 1 in the top block
        dm, mg = _mlp_backward(dx.reshape(N * rows, D), mlp, base_grads)
        for k, v in mg.items():
            g[n[k]] = v
        dm, dg2, db2 = _layernorm_backward(dm.reshape(N, rows, D), ln2)
        dx = dx + dm
        da, ag = _attention_backward(dx, att, base_grads, input_grad=base_grads or i > 0)
        for k, v in ag.items():
            g[n[k] if k in n else f"l{i}.{k}"] = v
        if da is None:                              # frozen bottom block: nothing below needs a gradient
            break
        da, dg1, db1 = _layernorm_backward(da, ln1)
        if rows < T:                                               # the residual carried the last position only
            dx = np.concatenate([np.zeros((N, T - rows, D)), dx], axis=1)
        dx = dx + da
        if base_grads:
            g[n["ln2.g"]], g[n["ln2.b"]], g[n["ln1.g"]], g[n["ln1.b"]] = dg2, db2, dg1, db1
    if base_grads:
        g["pos_emb"] = dx.sum(axis=0)
        g["tok_emb"] = np.zeros_like(params["tok_emb"])
        np.add.at(g["tok_emb"], tokens, dx)
    missing = [k for k in adapter_names if k not in g]
    if missing:  # pragma: no cover - would mean an adapter name that matches no layer
        raise KeyError(f"adapters: no gradient was produced for {missing}")
    return g


def _labels(y, logits: np.ndarray) -> np.ndarray:
    """Class labels y (N,): integers in [0, C) for logits (N, C)."""
    y = as_ints("y", y)
    N, C = logits.shape
    check_shape("y", y, (N,), "= (N,) like logits' rows")
    if N == 0:
        raise InputError("logits: expected at least one row, got an empty batch (N = 0)")
    if y.min() < 0 or y.max() >= C:
        raise InputError(f"y: expected labels in [0, {C}) for {C} classes, got values in [{y.min()}, {y.max()}]")
    return y


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of logits (N, C) against labels y (N,) and its gradient dlogits (N, C)."""
    logits = as_array("logits", logits, ndim=2)
    N = logits.shape[0]
    y = _labels(y, logits)
    P = softmax(logits, axis=1)
    loss = float(-np.log(P[np.arange(N), y] + 1e-300).mean())
    dlogits = P.copy()
    dlogits[np.arange(N), y] -= 1
    return loss, dlogits / N


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    """Share of rows whose largest logit is the label."""
    logits = as_array("logits", logits, ndim=2)
    y = _labels(y, logits)
    return float((logits.argmax(axis=1) == np.asarray(y)).mean())
