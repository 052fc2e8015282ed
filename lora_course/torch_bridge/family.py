"""Lesson 07's variants against Hugging Face PEFT (and bitsandbytes' NF4), in float64 where PEFT allows it.

Each function feeds the SAME W0, A, B (and m) and input to our numpy code and to PEFT and returns ``Row``s
(largest absolute and relative difference; ``Row.agrees`` is relative < 1e-10). Gradients: ours from the
lesson's backward passes, PEFT's from autograd, for the loss sum(H * G).

* rsLoRA: ``LoraConfig(use_rslora=True)``; forward, dX, dA, dB, merged weight.
* DoRA: ``LoraConfig(use_dora=True)``; forward, dX, dA, dB, dm, merged weight. PEFT holds the norm constant in the
  backward pass (DoRA Section 4.3), which is ``dora_backward(detach_norm=True)``.
* PiSSA: ``init_lora_weights="pissa"``. PEFT refuses float64 here ("Please initialize PiSSA under float32, ...") and
  takes the SVD in float32, so the initial A, B and W_res agree only to float32 precision (their own rows);
  the PiSSA layer itself (forward, gradients, merge) is then compared in float64 with PEFT's init copied in.
  Signs: both sides go through ``lora_course.pissa.canonical_signs``.
* LoRA+: ``peft.optimizers.create_loraplus_optimizer`` with SGD; one step, new A and B.
* NF4: bitsandbytes' ``quantize_4bit`` / ``dequantize_4bit`` (CPU backend), codes and dequantised weight.
"""

from __future__ import annotations

import numpy as np
import torch
from peft import LoraConfig, get_peft_model

from lora_course.dora import dora_backward, dora_forward, dora_magnitude, dora_weight
from lora_course.layer import linear_lora_backward, linear_lora_forward, scale_factor
from lora_course.loraplus import loraplus_sgd_step
from lora_course.merge import Adapter, merge
from lora_course.nf4 import dequantize_blockwise, nf4_levels, quantize_blockwise
from lora_course.pissa import canonical_signs, pissa_init
from lora_course.torch_bridge.agreement import OneLinear, Row, _t, autograd_pass, compare


def _peft(W0: np.ndarray, r: int, alpha: float, dtype=torch.float64, **config):
    model = OneLinear(W0)
    if dtype != torch.float64:
        model = model.to(dtype)
    return get_peft_model(model, LoraConfig(r=r, lora_alpha=alpha, target_modules=["lin"], lora_dropout=0.0,
                                            bias="none", **config))


def _draws(seed: int, d: int, k: int, r: int, n: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(d, k)), rng.normal(size=(r, k)), rng.normal(size=(d, r)), rng.normal(size=(n, k)),
            rng.normal(size=(n, d)), rng)


def rslora_agreement(seed: int = 0, d: int = 24, k: int = 16, r: int = 4, n: int = 8, alpha: float = 8.0) -> list[Row]:
    """Our LoRA with s = alpha / sqrt(r) against PEFT's use_rslora=True."""
    W0, A, B, X, G, _ = _draws(seed, d, k, r, n)
    s = scale_factor(r, alpha, rslora=True)
    H, cache = linear_lora_forward(X, W0, A, B, s)
    dX, dA, dB = linear_lora_backward(G, cache)
    model = _peft(W0, r, alpha, use_rslora=True)
    lin = model.base_model.model.lin
    with torch.no_grad():
        lin.lora_A["default"].weight.copy_(_t(A))
        lin.lora_B["default"].weight.copy_(_t(B))
    out, x_grad = autograd_pass(model, X, G)
    rows = [compare("rsLoRA: scale", np.array([s]), np.array([lin.scaling["default"]])),
            compare("rsLoRA: forward H", H, out), compare("rsLoRA: dX", dX, x_grad),
            compare("rsLoRA: dA", dA, lin.lora_A["default"].weight.grad),
            compare("rsLoRA: dB", dB, lin.lora_B["default"].weight.grad)]
    return rows + [compare("rsLoRA: merged W", merge(W0, Adapter(A, B, s)), model.merge_and_unload().lin.weight)]


def dora_agreement(seed: int = 0, d: int = 24, k: int = 16, r: int = 4, n: int = 8, alpha: float = 8.0) -> list[Row]:
    """Our DoRA against PEFT's use_dora=True: the initial magnitude, then a trained-looking state."""
    W0, A, B, X, G, rng = _draws(seed, d, k, r, n)
    s = scale_factor(r, alpha)
    model = _peft(W0, r, alpha, use_dora=True)
    lin = model.base_model.model.lin
    magnitude = lin.lora_magnitude_vector["default"].weight
    rows = [compare("DoRA: initial m = ||W0||_row", dora_magnitude(W0), magnitude)]
    m = dora_magnitude(W0) * rng.uniform(0.7, 1.3, size=d)             # (d,), moved as after training
    with torch.no_grad():
        lin.lora_A["default"].weight.copy_(_t(A))
        lin.lora_B["default"].weight.copy_(_t(B))
        magnitude.copy_(_t(m))
    H, cache = dora_forward(X, W0, A, B, m, s)
    dX, dA, dB, dm = dora_backward(G, cache, detach_norm=True)
    out, x_grad = autograd_pass(model, X, G)
    rows += [compare("DoRA: forward H", H, out), compare("DoRA: dX", dX, x_grad),
             compare("DoRA: dA (norm held constant)", dA, lin.lora_A["default"].weight.grad),
             compare("DoRA: dB (norm held constant)", dB, lin.lora_B["default"].weight.grad),
             compare("DoRA: dm", dm, magnitude.grad)]
    return rows + [compare("DoRA: merged W", dora_weight(W0, A, B, m, s), model.merge_and_unload().lin.weight)]


def pissa_agreement(seed: int = 0, d: int = 24, k: int = 16, r: int = 4, n: int = 8, alpha: float = 8.0,
                    ) -> tuple[list[Row], list[Row]]:
    """(rows at float32 precision: PEFT's PiSSA init vs ours; rows in float64: the PiSSA layer with that init)."""
    W0, _, _, X, G, _ = _draws(seed, d, k, r, n)
    W0 = W0.astype(np.float32).astype(np.float64)                       # exactly representable in float32
    s = scale_factor(r, alpha)
    model = _peft(W0, r, alpha, dtype=torch.float32, init_lora_weights="pissa")
    lin = model.base_model.model.lin
    A_peft = lin.lora_A["default"].weight.detach().double().numpy()
    B_peft = lin.lora_B["default"].weight.detach().double().numpy()
    res_peft = lin.base_layer.weight.detach().double().numpy()
    A, B, W_res = pissa_init(W0, r, s)
    A_pc, B_pc = canonical_signs(A_peft, B_peft)
    init_rows = [compare("PiSSA init (float32 in PEFT): A", A, A_pc),
                 compare("PiSSA init (float32 in PEFT): B", B, B_pc),
                 compare("PiSSA init (float32 in PEFT): W_res", W_res, res_peft)]
    # the layer, in float64, with PEFT's own init carried over
    model64 = _peft(res_peft, r, alpha)
    lin64 = model64.base_model.model.lin
    with torch.no_grad():
        lin64.lora_A["default"].weight.copy_(_t(A_peft))
        lin64.lora_B["default"].weight.copy_(_t(B_peft))
    H, cache = linear_lora_forward(X, res_peft, A_peft, B_peft, s)
    dX, dA, dB = linear_lora_backward(G, cache)
    out, x_grad = autograd_pass(model64, X, G)
    layer_rows = [compare("PiSSA: start equals W0 (ours)", X @ W0.T, linear_lora_forward(X, W_res, A, B, s)[0]),
                  compare("PiSSA: forward H", H, out), compare("PiSSA: dX", dX, x_grad),
                  compare("PiSSA: dA", dA, lin64.lora_A["default"].weight.grad),
                  compare("PiSSA: dB", dB, lin64.lora_B["default"].weight.grad),
                  compare("PiSSA: merged W", merge(res_peft, Adapter(A_peft, B_peft, s)),
                          model64.merge_and_unload().lin.weight)]
    return init_rows, layer_rows


def loraplus_agreement(seed: int = 0, d: int = 24, k: int = 16, r: int = 4, n: int = 8, alpha: float = 8.0,
                       lr: float = 0.05, ratio: float = 16.0) -> list[Row]:
    """One SGD step of PEFT's create_loraplus_optimizer against our loraplus_sgd_step on the same gradients."""
    from peft.optimizers import create_loraplus_optimizer

    W0, A, B, X, G, _ = _draws(seed, d, k, r, n)
    s = scale_factor(r, alpha)
    _, dA, dB = linear_lora_backward(G, linear_lora_forward(X, W0, A, B, s)[1])
    A_new, B_new = loraplus_sgd_step(A, B, dA, dB, lr, ratio)
    model = _peft(W0, r, alpha)
    lin = model.base_model.model.lin
    with torch.no_grad():
        lin.lora_A["default"].weight.copy_(_t(A))
        lin.lora_B["default"].weight.copy_(_t(B))
    optimizer = create_loraplus_optimizer(model, optimizer_cls=torch.optim.SGD, lr=lr, loraplus_lr_ratio=ratio)
    autograd_pass(model, X, G)
    optimizer.step()
    return [compare("LoRA+: A after one step", A_new, lin.lora_A["default"].weight),
            compare("LoRA+: B after one step", B_new, lin.lora_B["default"].weight)]


def bitsandbytes_nf4(W: np.ndarray, block: int = 64, generic: bool = False
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """bitsandbytes' NF4 of a float32 W: (codes (W.size,), absmax, dequantised W, its 16 levels).

    ``generic=True`` dequantises with bitsandbytes' pure-torch implementation instead of ``dequantize_4bit``'s CPU
    kernel (which, in bitsandbytes 0.50.2, reads the wrong absmax when a row's length is not a multiple of the block).
    """
    import bitsandbytes.functional as F

    packed, state = F.quantize_4bit(torch.from_numpy(np.asarray(W, dtype=np.float32)), blocksize=block,
                                    quant_type="nf4")
    flat = packed.flatten().numpy()
    codes = np.stack([flat >> 4, flat & 0xF], axis=1).ravel()[:W.size]     # two codes per byte, high nibble first
    if generic:
        from bitsandbytes.backends.default.ops import _dequantize_4bit_compute

        back = _dequantize_4bit_compute(packed.reshape(-1), state.absmax, state.code, block, tuple(W.shape),
                                        torch.float32)
    else:
        back = F.dequantize_4bit(packed, state)
    return codes, state.absmax.numpy(), back.numpy(), state.code.numpy()


def nf4_agreement(seed: int = 0, shape: tuple[int, int] = (64, 128), block: int = 64, generic: bool = False) -> dict:
    """Ours against bitsandbytes on a float32 weight: the levels, how many codes differ, absmax, and the dequantised
    weight (bitsandbytes computes in float32, so the last two agree to float32 precision, not 1e-10)."""
    W = np.random.default_rng(seed).normal(0.0, 0.02, size=shape).astype(np.float32)
    codes_bnb, absmax_bnb, back_bnb, levels_bnb = bitsandbytes_nf4(W, block, generic)
    levels = nf4_levels()
    codes, absmax = quantize_blockwise(W, levels, block)
    back = dequantize_blockwise(codes, absmax, levels, shape, block)
    return {"levels": compare("NF4 levels vs bitsandbytes' code", levels, levels_bnb),
            "codes_differing": int(np.sum(codes != codes_bnb)), "absmax": compare("NF4 absmax", absmax, absmax_bnb),
            "dequantised": compare("NF4 dequantised W", back, back_bnb)}
