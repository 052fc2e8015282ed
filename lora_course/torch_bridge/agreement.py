"""Our numpy LoRA against a hand-written torch layer and against Hugging Face PEFT, in float64.

Every comparison feeds the SAME W0, A, B and input to each implementation and reports the largest
absolute and relative difference. Gradients come from lesson 02's ``backward`` on our side and from
autograd on the torch side, for the loss ``sum(H * G)`` (so dH = G exactly: no 1/n in either).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from peft import LoraConfig, get_peft_model
from torch import nn

from lora_course.layer import linear_lora_backward, linear_lora_forward, scale_factor
from lora_course.merge import Adapter, merge
from lora_course.torch_bridge.lora import LoRALinear
from lora_course.torch_bridge.toy import from_numpy, torch_names
from lora_course.toy.transformer import ToyConfig, init_adapters, init_params, model_backward, model_forward

TOL = 1e-10


class Row(NamedTuple):
    """One line of the agreement table."""

    quantity: str
    max_abs: float
    max_rel: float

    @property
    def agrees(self) -> bool:
        return self.max_rel < TOL


def compare(quantity: str, ours, theirs) -> Row:
    """Largest |ours - theirs| and that over max |ours|; arrays or tensors of one shape."""
    ours = np.asarray(ours, dtype=np.float64)
    theirs = theirs.detach().cpu().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    if ours.shape != theirs.shape:
        raise ValueError(f"{quantity}: expected shape {ours.shape} on both sides, got {theirs.shape}")
    abs_err = float(np.max(np.abs(ours - theirs)))
    return Row(quantity, abs_err, abs_err / max(float(np.max(np.abs(ours))), np.finfo(np.float64).tiny))


def _t(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))


class OneLinear(nn.Module):
    """A model holding one frozen linear layer named ``lin``, for PEFT to adapt (``target_modules=["lin"]``)."""

    def __init__(self, W0: np.ndarray) -> None:
        super().__init__()
        d, k = W0.shape
        self.lin = nn.Linear(k, d, bias=False, dtype=torch.float64)
        with torch.no_grad():
            self.lin.weight.copy_(_t(W0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x)


def peft_linear(W0: np.ndarray, A: np.ndarray, B: np.ndarray, r: int, alpha: float, rslora: bool = False):
    """PEFT's LoRA on one (d, k) linear layer with our A (r, k) and B (d, r) copied in; returns the PeftModel."""
    config = LoraConfig(r=r, lora_alpha=alpha, target_modules=["lin"], lora_dropout=0.0, bias="none",
                        use_rslora=rslora)
    model = get_peft_model(OneLinear(W0), config)
    lin = model.base_model.model.lin
    with torch.no_grad():
        lin.lora_A["default"].weight.copy_(_t(A))   # nn.Linear(k, r): weight (r, k) = A
        lin.lora_B["default"].weight.copy_(_t(B))   # nn.Linear(r, d): weight (d, r) = B
    return model


def lora_layers(W0: np.ndarray, A: np.ndarray, B: np.ndarray, r: int, alpha: float,
                rslora: bool = False) -> list[tuple[str, nn.Module, torch.Tensor, torch.Tensor]]:
    """The hand-written torch layer and PEFT's, each holding W0 (d, k), A (r, k) and B (d, r):
    ``[(label, module, A parameter, B parameter), ...]``, hand-written first."""
    d, k = W0.shape
    base = nn.Linear(k, d, bias=False, dtype=torch.float64)
    with torch.no_grad():
        base.weight.copy_(_t(W0))
    hand = LoRALinear(base, r, alpha, rslora=rslora)
    with torch.no_grad():
        hand.A.copy_(_t(A))
        hand.B.copy_(_t(B))
    peft = peft_linear(W0, A, B, r, alpha, rslora=rslora)
    lin = peft.base_model.model.lin
    return [("hand-written torch", hand, hand.A, hand.B),
            ("PEFT", peft, lin.lora_A["default"].weight, lin.lora_B["default"].weight)]


def autograd_pass(module: nn.Module, X: np.ndarray, G: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """H = module(X) for X (n, k) and dX for the loss sum(H * G), G (n, d); also fills the parameters' .grad."""
    x = _t(X).requires_grad_(True)
    out = module(x)
    (out * _t(G)).sum().backward()
    return out, x.grad


def layer_agreement(seed: int = 0, d: int = 48, k: int = 32, r: int = 4, n: int = 16,
                    alpha: float = 8.0) -> list[Row]:
    """One adapted (d, k) layer: ours vs hand-written torch vs PEFT, LoRA and rsLoRA scaling."""
    rng = np.random.default_rng(seed)
    W0, X, G = rng.normal(size=(d, k)), rng.normal(size=(n, k)), rng.normal(size=(n, d))
    A, B = rng.normal(size=(r, k)), rng.normal(size=(d, r))   # B non-zero, as after training
    rows = []
    for rslora in (False, True):
        tag = "rsLoRA alpha/sqrt(r)" if rslora else "LoRA alpha/r"
        scale = scale_factor(r, alpha, rslora=rslora)
        H, cache = linear_lora_forward(X, W0, A, B, scale)
        dX, dA, dB = linear_lora_backward(G, cache)
        W = merge(W0, Adapter(A, B, scale))
        layers = lora_layers(W0, A, B, r, alpha, rslora=rslora)
        for name, module, pA, pB in layers:
            out, x_grad = autograd_pass(module, X, G)
            rows += [compare(f"{tag}, {name}: forward H", H, out), compare(f"{tag}, {name}: dX", dX, x_grad),
                     compare(f"{tag}, {name}: dA", dA, pA.grad), compare(f"{tag}, {name}: dB", dB, pB.grad)]
        (_, hand, _, _), (_, peft, _, _) = layers
        rows.append(compare(f"{tag}, hand-written torch: merged W", W, hand.merge().weight))
        merged = peft.merge_and_unload()
        rows.append(compare(f"{tag}, PEFT merge_and_unload: W", W, merged.lin.weight))
    return rows


def peft_toy_model(params: dict, adapters: dict, cfg: ToyConfig, targets: tuple[str, ...], r: int, alpha: float):
    """Lesson 03's toy transformer in torch with PEFT's LoRA on ``targets``, our factors copied in."""
    model = from_numpy(params, cfg)
    config = LoraConfig(r=r, lora_alpha=alpha, target_modules=list(targets), lora_dropout=0.0, bias="none")
    peft = get_peft_model(model, config)
    inner = peft.base_model.model
    with torch.no_grad():
        for i in range(cfg.n_layers):
            for t in targets:
                proj = getattr(inner.layers[i].attn, t)
                proj.lora_A["default"].weight.copy_(_t(adapters[f"l{i}.{t}.A"]))
                proj.lora_B["default"].weight.copy_(_t(adapters[f"l{i}.{t}.B"]))
    return peft


def model_agreement(seed: int = 0, cfg: ToyConfig | None = None, targets: tuple[str, ...] = ("q", "v"),
                    r: int = 4, alpha: float = 8.0, n: int = 8) -> list[Row]:
    """Lesson 03's toy transformer: numpy vs torch (frozen), then vs PEFT on ``targets`` (logits, every LoRA
    gradient, and every merged weight after ``merge_and_unload``)."""
    cfg = cfg or ToyConfig(n_layers=2)
    rng = np.random.default_rng(seed)
    params = init_params(cfg, rng)
    tokens = rng.integers(0, cfg.vocab_size, size=(n, cfg.seq_len))
    G = rng.normal(size=(n, cfg.n_classes))
    logits, _ = model_forward(params, tokens, cfg)
    with torch.no_grad():
        ours_torch = from_numpy(params, cfg)(torch.from_numpy(tokens))
    rows = [compare("toy transformer, no LoRA: logits", logits, ours_torch)]

    adapters = init_adapters(cfg, targets, r, rng)
    for key in adapters:   # B non-zero, as after training
        if key.endswith(".B"):
            adapters[key] = rng.normal(0, 0.1, size=adapters[key].shape)
    scale = scale_factor(r, alpha)
    logits, cache = model_forward(params, tokens, cfg, adapters, scale)
    grads = model_backward(G, cache, base_grads=False)
    peft = peft_toy_model(params, adapters, cfg, targets, r, alpha)
    out = peft(torch.from_numpy(tokens))
    (out * _t(G)).sum().backward()
    inner = peft.base_model.model
    rows.append(compare(f"toy transformer, PEFT LoRA on {'+'.join(targets)}: logits", logits, out))
    dA = max((compare("", grads[f"l{i}.{t}.A"], getattr(inner.layers[i].attn, t).lora_A["default"].weight.grad)
              for i in range(cfg.n_layers) for t in targets), key=lambda row: row.max_rel)
    dB = max((compare("", grads[f"l{i}.{t}.B"], getattr(inner.layers[i].attn, t).lora_B["default"].weight.grad)
              for i in range(cfg.n_layers) for t in targets), key=lambda row: row.max_rel)
    rows += [dA._replace(quantity="toy transformer, PEFT: every dA (worst)"),
             dB._replace(quantity="toy transformer, PEFT: every dB (worst)")]
    merged = peft.merge_and_unload().state_dict()
    names = torch_names(cfg)
    worst = max((compare("", merge(params[f"l{i}.W{t}"], Adapter(adapters[f"l{i}.{t}.A"], adapters[f"l{i}.{t}.B"],
                                                                    scale)), merged[names[f"l{i}.W{t}"]])
                 for i in range(cfg.n_layers) for t in targets), key=lambda row: row.max_rel)
    rows.append(worst._replace(quantity="toy transformer, merge_and_unload vs our merge: every W (worst)"))
    return rows


def verdict_table(rows: list[Row], tol: float = TOL) -> str:
    """The agreement table as verdicts ('< 1e-10' or the failing value), so rounding noise cannot change it."""
    width = max(len(row.quantity) for row in rows)

    def cell(value: float) -> str:
        return f"< {tol:.0e}" if value < tol else f"{value:.1e} (FAILS)"

    lines = [f"{'quantity':<{width}}  {'max abs err':>13}  {'max rel err':>13}", "-" * (width + 30)]
    lines += [f"{row.quantity:<{width}}  {cell(row.max_abs):>13}  {cell(row.max_rel):>13}" for row in rows]
    return "\n".join(lines)


def raw_table(rows: list[Row]) -> str:
    """The same table with the measured errors (they depend on the BLAS's summation order)."""
    width = max(len(row.quantity) for row in rows)
    return "\n".join(f"{row.quantity:<{width}}  {row.max_abs:9.1e}  {row.max_rel:9.1e}" for row in rows)
