"""Lesson 03's toy transformer (``lora_course.toy.transformer``) as an equivalent ``torch.nn.Module``.

Same computation, same parameter names mapped one to one: ``l0.Wq`` (d_model, d_model) is
``layers[0].attn.q.weight``, and so on. ``nn.Linear`` stores its weight as (d_out, d_in) and computes
``X W^T + b``, the course's row convention, so weights are copied without transposing.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from lora_course.toy.transformer import ToyConfig, layer_names


class ToyAttention(nn.Module):
    """Bidirectional multi-head self-attention with separate q, k, v, o projections (no biases)."""

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.q, self.k, self.v, self.o = (nn.Linear(d_model, d_model, bias=False) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, T, D) -> (N, T, D)."""
        N, T, D = x.shape
        H, dh = self.n_heads, D // self.n_heads
        q, k, v = (proj(x).reshape(N, T, H, dh).transpose(1, 2) for proj in (self.q, self.k, self.v))  # (N, H, T, dh)
        P = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), dim=-1)                           # (N, H, T, T)
        return self.o((P @ v).transpose(1, 2).reshape(N, T, D))


class ToyBlock(nn.Module):
    """Pre-LN block: x + attn(LN1(x)), then x + MLP(LN2(x)) with a tanh-GELU hidden layer."""

    def __init__(self, cfg: ToyConfig) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(cfg.d_model, eps=1e-5), nn.LayerNorm(cfg.d_model, eps=1e-5)
        self.attn = ToyAttention(cfg.d_model, cfg.n_heads)
        self.fc1, self.fc2 = nn.Linear(cfg.d_model, cfg.d_ff), nn.Linear(cfg.d_ff, cfg.d_model)
        self.gelu = nn.GELU(approximate="tanh")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.fc2(self.gelu(self.fc1(self.ln2(x))))


class TorchToyTransformer(nn.Module):
    """tokens (N, T) -> logits (N, n_classes), the same function as ``lora_course.toy.transformer.model_forward``."""

    def __init__(self, cfg: ToyConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos_emb = nn.Parameter(torch.zeros(cfg.seq_len, cfg.d_model))
        self.layers = nn.ModuleList(ToyBlock(cfg) for _ in range(cfg.n_layers))
        self.lnf = nn.LayerNorm(cfg.d_model, eps=1e-5)
        self.head = nn.Linear(cfg.d_model, cfg.n_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.tok_emb(tokens) + self.pos_emb[None]     # (N, T, D)
        for layer in self.layers:
            x = layer(x)
        return self.head(self.lnf(x)[:, -1, :])           # (N, C)


def torch_names(cfg: ToyConfig) -> dict[str, str]:
    """Our parameter name -> the torch module's ``state_dict`` key."""
    names = {"tok_emb": "tok_emb.weight", "pos_emb": "pos_emb", "lnf.g": "lnf.weight", "lnf.b": "lnf.bias",
             "head.W": "head.weight", "head.b": "head.bias"}
    ours_to_torch = {"ln1.g": "ln1.weight", "ln1.b": "ln1.bias", "ln2.g": "ln2.weight", "ln2.b": "ln2.bias",
                     "Wq": "attn.q.weight", "Wk": "attn.k.weight", "Wv": "attn.v.weight", "Wo": "attn.o.weight",
                     "W1": "fc1.weight", "b1": "fc1.bias", "W2": "fc2.weight", "b2": "fc2.bias"}
    for i in range(cfg.n_layers):
        for short, full in layer_names(i).items():
            names[full] = f"layers.{i}.{ours_to_torch[short]}"
    return names


def from_numpy(params: dict[str, np.ndarray], cfg: ToyConfig,
               dtype: torch.dtype = torch.float64) -> TorchToyTransformer:
    """A ``TorchToyTransformer`` holding copies of our numpy ``params`` (every name must be present)."""
    names = torch_names(cfg)
    missing, extra = sorted(set(names) - set(params)), sorted(set(params) - set(names))
    if missing or extra:
        raise ValueError(f"params: expected exactly the names of init_params(cfg); "
                         f"missing {missing}, unexpected {extra}")
    model = TorchToyTransformer(cfg).to(dtype)
    own = model.state_dict()
    for key, value in params.items():
        if tuple(own[names[key]].shape) != np.shape(value):
            raise ValueError(f"params[{key!r}]: expected shape {tuple(own[names[key]].shape)} "
                             f"(torch's {names[key]}), got {np.shape(value)}")
    state = {names[k]: torch.from_numpy(np.array(v, dtype=np.float64)).to(dtype) for k, v in params.items()}
    model.load_state_dict(state, strict=True)
    return model
