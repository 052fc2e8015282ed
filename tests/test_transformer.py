"""Gradient checks for every layer of the toy Transformer and the full model, LoRA's start, Adam."""

import numpy as np
import pytest

from lora_course.gradcheck import numerical_gradient, numerical_gradient_array, rel_error
from lora_course.toy.adam import Adam
from lora_course.toy.attention import attention_backward, attention_forward, projection_backward, projection_forward
from lora_course.toy.layernorm import layernorm_backward, layernorm_forward
from lora_course.toy.mlp import gelu_backward, gelu_forward, mlp_backward, mlp_forward
from lora_course.toy.transformer import (
    ToyConfig,
    init_adapters,
    init_params,
    model_backward,
    model_forward,
    softmax_cross_entropy,
)

TOL = 1e-6


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_layernorm_gradients(rng):
    x, g, b = rng.normal(size=(3, 4, 6)), rng.normal(size=6), rng.normal(size=6)
    dout = rng.normal(size=x.shape)
    out, cache = layernorm_forward(x, g, b)
    assert np.allclose(((out - b) / g).mean(axis=-1), 0, atol=1e-10)
    dx, dg, db = layernorm_backward(dout, cache)
    for arr, grad in ((x, dx), (g, dg), (b, db)):
        num = numerical_gradient_array(lambda: layernorm_forward(x, g, b)[0], arr, dout)
        assert rel_error(grad, num) < TOL


def test_gelu_and_mlp_gradients(rng):
    x = rng.normal(size=(5, 7)) * 2
    dout = rng.normal(size=x.shape)
    assert rel_error(gelu_backward(dout, gelu_forward(x)[1]), numerical_gradient_array(lambda: gelu_forward(x)[0],
                                                                                         x, dout)) < TOL
    X = rng.normal(size=(5, 4))
    W1, b1, W2, b2 = rng.normal(size=(6, 4)), rng.normal(size=6), rng.normal(size=(4, 6)), rng.normal(size=4)
    dout = rng.normal(size=(5, 4))
    dX, grads = mlp_backward(dout, mlp_forward(X, W1, b1, W2, b2)[1])
    arrays = {"X": X, "W1": W1, "b1": b1, "W2": W2, "b2": b2}
    for name, arr in arrays.items():
        num = numerical_gradient_array(lambda: mlp_forward(X, W1, b1, W2, b2)[0], arr, dout)
        assert rel_error(dX if name == "X" else grads[name], num) < TOL, name


def test_projection_with_lora_gradients(rng):
    X, W = rng.normal(size=(5, 6)), rng.normal(size=(4, 6))
    A, B = rng.normal(size=(2, 6)), rng.normal(size=(4, 2))
    dout = rng.normal(size=(5, 4))
    dX, dW, (dA, dB) = projection_backward(dout, projection_forward(X, W, (A, B, 1.5))[1])
    for arr, grad in ((X, dX), (W, dW), (A, dA), (B, dB)):
        num = numerical_gradient_array(lambda: projection_forward(X, W, (A, B, 1.5))[0], arr, dout)
        assert rel_error(grad, num) < TOL
    assert projection_backward(dout, projection_forward(X, W)[1])[2] is None


@pytest.mark.parametrize("targets", [(), ("q",), ("k", "o"), ("q", "k", "v", "o")])
def test_attention_gradients(rng, targets):
    N, T, D, H, r = 2, 3, 6, 2, 2
    X = rng.normal(size=(N, T, D))
    weights = {t: rng.normal(size=(D, D)) / np.sqrt(D) for t in "qkvo"}
    loras = {t: (rng.normal(size=(r, D)), rng.normal(size=(D, r)), 0.5) for t in targets}
    dout = rng.normal(size=(N, T, D))
    dX, grads = attention_backward(dout, attention_forward(X, weights, H, loras)[1])
    assert set(grads) == {f"W{t}" for t in "qkvo"} | {f"{t}.{m}" for t in targets for m in "AB"}

    def f():
        return attention_forward(X, weights, H, loras)[0]

    assert rel_error(dX, numerical_gradient_array(f, X, dout)) < TOL
    for t in "qkvo":
        assert rel_error(grads[f"W{t}"], numerical_gradient_array(f, weights[t], dout)) < TOL, t
    for t in targets:
        A, B, _ = loras[t]
        assert rel_error(grads[f"{t}.A"], numerical_gradient_array(f, A, dout)) < TOL
        assert rel_error(grads[f"{t}.B"], numerical_gradient_array(f, B, dout)) < TOL


def small_model(rng, targets=("q", "k", "v", "o"), r=2, n_layers=2):
    cfg = ToyConfig(vocab_size=7, seq_len=4, d_model=8, n_heads=2, n_layers=n_layers, d_ff=12, n_classes=3)
    params = init_params(cfg, rng)
    adapters = init_adapters(cfg, targets, r, rng)
    for k in adapters:          # non-zero B so that every path carries gradient
        if k.endswith(".B"):
            adapters[k] = rng.normal(0, 0.3, adapters[k].shape)
    tokens, y = rng.integers(0, 7, (5, 4)), rng.integers(0, 3, 5)
    return cfg, params, adapters, tokens, y


def test_full_model_gradients(rng):
    cfg, params, adapters, tokens, y = small_model(rng)

    def loss():
        return softmax_cross_entropy(model_forward(params, tokens, cfg, adapters, 0.7)[0], y)[0]

    logits, cache = model_forward(params, tokens, cfg, adapters, 0.7)
    grads = model_backward(softmax_cross_entropy(logits, y)[1], cache)
    assert set(grads) == set(params) | set(adapters)
    for arrays in (params, adapters):
        for name, arr in arrays.items():
            assert rel_error(grads[name], numerical_gradient(loss, arr)) < TOL, name


def test_frozen_backward_gives_the_same_lora_gradients(rng):
    cfg, params, adapters, tokens, y = small_model(rng, ("q", "v"))
    logits, cache = model_forward(params, tokens, cfg, adapters, 0.7)
    dlogits = softmax_cross_entropy(logits, y)[1]
    full, frozen = model_backward(dlogits, cache), model_backward(dlogits, cache, base_grads=False)
    assert set(frozen) == {"head.W", "head.b", "lnf.g", "lnf.b"} | set(adapters)
    for name in frozen:
        assert np.array_equal(full[name], frozen[name]), name


def test_lora_starts_at_the_frozen_model(rng):
    cfg = ToyConfig(vocab_size=10, seq_len=5, d_model=16, n_heads=4, n_layers=2, d_ff=32, n_classes=4)
    params = init_params(cfg, rng)
    tokens = rng.integers(0, 10, (6, 5))
    frozen = model_forward(params, tokens, cfg)[0]
    for targets in (("q",), ("v", "o"), ("q", "k", "v", "o")):
        adapters = init_adapters(cfg, targets, 4, rng)
        assert all(not adapters[k].any() for k in adapters if k.endswith(".B")), "B should start at zero"
        assert any(adapters[k].any() for k in adapters if k.endswith(".A")), "A should start random"
        assert np.array_equal(model_forward(params, tokens, cfg, adapters, 2.0)[0], frozen)


def test_bad_inputs_are_named(rng):
    cfg = ToyConfig(vocab_size=5, seq_len=3, d_model=8, n_heads=2, n_layers=1, d_ff=8, n_classes=2)
    params = init_params(cfg, rng)
    with pytest.raises(ValueError, match="targets"):
        init_adapters(cfg, ("x",), 2, rng)
    with pytest.raises(ValueError, match=r"ids in \[0, 5\)"):
        model_forward(params, np.full((2, 3), 7), cfg)
    with pytest.raises(ValueError, match="seq_len = 3"):
        model_forward(params, np.zeros((2, 4), dtype=int), cfg)
    with pytest.raises(ValueError, match="divisor"):
        ToyConfig(d_model=10, n_heads=4)


def test_adam_moves_only_named_parameters_and_minimizes():
    params = {"x": np.array([3.0, -2.0]), "frozen": np.array([1.0])}
    opt = Adam(["x"], lr=0.1)
    for _ in range(500):
        opt.step(params, {"x": 2 * params["x"], "frozen": np.array([5.0])})
    assert np.allclose(params["x"], 0, atol=1e-2)
    assert params["frozen"][0] == 1.0
    with pytest.raises(KeyError, match="'x'"):
        opt.step(params, {})
    with pytest.raises(ValueError, match="lr"):
        Adam(["x"], lr=-1)



def test_a_refused_adam_step_changes_nothing():
    """A step refused for a missing, misshapen or non-finite gradient leaves the parameters, the step count and
    the moments as they were: the next good step equals the same step of an optimizer that never saw the bad one."""
    def fresh():
        return {"a": np.array([1.0, -2.0, 3.0]), "b": np.ones((2, 2))}, Adam(["a", "b"], lr=0.1)

    good = {"a": np.array([0.5, 1.0, -1.0]), "b": np.full((2, 2), 0.25)}
    bad = [({"a": good["a"]}, KeyError), ({"a": good["a"], "b": np.ones(3)}, ValueError),
           ({"a": good["a"], "b": np.full((2, 2), np.nan)}, ValueError),
           ({"a": np.array([np.inf, 0.0, 0.0]), "b": good["b"]}, ValueError)]
    params, opt = fresh()
    expected, reference = fresh()
    for step in range(2):
        for grads, error in bad:
            with pytest.raises(error):
                opt.step(params, grads)
        assert opt.t == step
        opt.step(params, good)
        reference.step(expected, good)
        assert all(np.array_equal(params[k], expected[k]) for k in params)
        assert np.array_equal(opt.m, reference.m) and np.array_equal(opt.v, reference.v)

def _reference_logits(params, tokens, cfg, adapters, scale):
    """Every position through every block (what the model computes without skipping), then the last position."""
    x = params["tok_emb"][tokens] + params["pos_emb"][None]
    N, T, D = x.shape
    for i in range(cfg.n_layers):
        p = {k[len(f"l{i}."):]: v for k, v in params.items() if k.startswith(f"l{i}.")}
        loras = {t: (adapters[f"l{i}.{t}.A"], adapters[f"l{i}.{t}.B"], scale) for t in "qkvo"
                 if f"l{i}.{t}.A" in adapters}
        a, _ = attention_forward(layernorm_forward(x, p["ln1.g"], p["ln1.b"])[0],
                                 {t: p["W" + t] for t in "qkvo"}, cfg.n_heads, loras)
        x = x + a
        m = layernorm_forward(x, p["ln2.g"], p["ln2.b"])[0].reshape(N * T, D)
        x = x + mlp_forward(m, p["W1"], p["b1"], p["W2"], p["b2"])[0].reshape(N, T, D)
    last = layernorm_forward(x, params["lnf.g"], params["lnf.b"])[0][:, -1]
    return last @ params["head.W"].T + params["head.b"]


@pytest.mark.parametrize("n_layers", [1, 2])
def test_forward_skips_only_what_the_head_never_reads(rng, n_layers):
    cfg, params, adapters, tokens, _ = small_model(rng, ("q", "o"), n_layers=n_layers)   # B non-zero
    logits = model_forward(params, tokens, cfg, adapters, 0.7)[0]
    assert np.allclose(logits, _reference_logits(params, tokens, cfg, adapters, 0.7), rtol=0, atol=1e-12)


@pytest.mark.parametrize("n_layers", [1, 2])
def test_frozen_table_gives_the_same_forward_and_lora_gradients(rng, n_layers):
    from lora_course.toy.transformer import _frozen_table, _model_backward, _model_forward

    cfg, params, adapters, tokens, y = small_model(rng, ("q", "k", "v", "o"), n_layers=n_layers)
    logits, cache = model_forward(params, tokens, cfg, adapters, 0.7)
    fast, fast_cache = _model_forward(params, tokens, cfg, adapters, 0.7, _frozen_table(params, cfg))
    assert np.array_equal(logits, fast)
    dlogits = softmax_cross_entropy(logits, y)[1]
    plain, gathered = model_backward(dlogits, cache, base_grads=False), _model_backward(dlogits, fast_cache, False)
    assert set(plain) == set(gathered) == {"head.W", "head.b", "lnf.g", "lnf.b"} | set(adapters)
    for name in plain:
        assert np.array_equal(plain[name], gathered[name]), name
