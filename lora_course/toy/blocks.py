"""A stack of pre-LN transformer blocks laid out like GPT-2 medium, scaled down, for timing inference.

Each block: ``x + attention(LN1(x))`` with separate Wq, Wk, Wv, Wo, then ``x + MLP(LN2(x))`` with a
4x hidden layer. Five ways to run the same frozen weights (paper, section 3 and Table 1):

- ``frozen``: the pre-trained weights alone. A full fine-tune and a merged LoRA have exactly this cost.
- ``lora``: unmerged LoRA on Wq and Wv, the branch computed by ``lora_course.layer.lora_forward``.
- ``merged``: the LoRA weights folded in with ``lora_course.merge.merge`` (same cost as ``frozen``).
- ``adapter_l``: one bottleneck adapter after the MLP, behind a layer norm (Lin et al., 2020).
- ``adapter_h``: two bottleneck adapters per block, after attention and after the MLP (Houlsby et al., 2019).

Inference only: ``forward`` returns the output (nothing here is trained, so no cache is kept).
Activations are float64 throughout, like the rest of the package.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lora_course.layer import init_lora, scale_factor
from lora_course.merge import Adapter, merge
from lora_course.paper import GPT2_MEDIUM
from lora_course.toy.attention import attention_forward
from lora_course.toy.layernorm import layernorm_forward
from lora_course.toy.mlp import gelu_forward, mlp_forward
from lora_course.validation import (
    InputError,
    as_array,
    as_real,
    check_bool,
    check_choice,
    check_instance,
    check_mapping,
    check_named,
    check_number,
    check_positive_int,
    check_rank,
    check_rng,
    check_sequence,
    check_shape,
    check_size,
)

VARIANTS = ("frozen", "lora", "merged", "adapter_l", "adapter_h")
LABELS = {"frozen": "Fine-Tune/LoRA merged", "lora": "LoRA unmerged", "merged": "LoRA merged",
          "adapter_l": "Adapter^L", "adapter_h": "Adapter^H"}
ADAPTERS_PER_BLOCK = {"adapter_l": 1, "adapter_h": 2}
# Paper, Table 1: trainable parameters |Theta| in the adapter layers of GPT-2 medium (11M for its two
# smaller cases, 0.5M for batch 32 x 512 tokens).
PAPER_ADAPTER_PARAMS = 11e6
PAPER_ADAPTER_PARAMS_LARGEST = 0.5e6


@dataclass(frozen=True)
class StackConfig:
    """Sizes of the block stack; ``d_ff`` defaults to 4 d_model as in GPT-2."""

    d_model: int = 128
    n_heads: int = 2
    n_layers: int = 4
    d_ff: int = 0

    def __post_init__(self) -> None:
        for name in ("d_model", "n_heads", "n_layers"):
            check_positive_int(name, getattr(self, name))
        if self.d_model % self.n_heads:
            raise InputError(f"n_heads: expected a divisor of d_model = {self.d_model}, got {self.n_heads}")
        if self.d_ff == 0:
            object.__setattr__(self, "d_ff", 4 * self.d_model)
        check_positive_int("d_ff", self.d_ff)
        check_size({"d_model": self.d_model, "d_ff": self.d_ff, "n_layers": self.n_layers}, "the blocks' weights")

    @property
    def block_params(self) -> int:
        """Weights and biases of one block: 4 D^2 (attention) + 2 D F + F + D (MLP) + 4 D (two layer norms)."""
        D, F = self.d_model, self.d_ff
        return 4 * D * D + 2 * D * F + F + D + 4 * D

    @property
    def n_params(self) -> int:
        """Parameters of the whole stack (no embeddings, no output head)."""
        return self.n_layers * self.block_params


GPT2_MEDIUM_STACK = StackConfig(GPT2_MEDIUM["d_model"], GPT2_MEDIUM["n_heads"], GPT2_MEDIUM["n_layers"],
                                GPT2_MEDIUM["d_ff"])


def adapter_module_params(d_model: int, bottleneck: int, with_norm: bool) -> int:
    """Down (m, D) + b (m,) + up (D, m) + b (D,), plus a layer norm's 2 D for Adapter^L."""
    d_model, bottleneck = check_positive_int("d_model", d_model), check_positive_int("bottleneck", bottleneck)
    with_norm = check_bool("with_norm", with_norm)
    return 2 * d_model * bottleneck + bottleneck + d_model + (2 * d_model if with_norm else 0)


def bottleneck_for_budget(budget: float, config: StackConfig, variant: str) -> int:
    """Largest bottleneck m (>= 1) whose adapters over the whole stack hold at most ``budget`` parameters.

    This is how the paper sized its adapters for Table 1: it fixed |Theta|, the adapter parameter count,
    so Adapter^H (two adapters per block) gets about half the bottleneck of Adapter^L (one per block).
    """
    check_choice("variant", variant, ADAPTERS_PER_BLOCK)
    budget = check_number("budget", budget, minimum=0, what="a parameter count")
    check_instance("config", config, StackConfig)
    n_modules = config.n_layers * ADAPTERS_PER_BLOCK[variant]
    D, norm = config.d_model, variant == "adapter_l"
    fixed = D + (2 * D if norm else 0)
    m = int((budget / n_modules - fixed) // (2 * D + 1))
    return max(1, m)


def scaled_budget(config: StackConfig, paper_params: float = PAPER_ADAPTER_PARAMS) -> float:
    """The paper's adapter budget as the same share of this stack as of GPT-2 medium's blocks."""
    check_instance("config", config, StackConfig)
    check_number("paper_params", paper_params, minimum=0, what="a parameter count")
    return paper_params * config.n_params / GPT2_MEDIUM_STACK.n_params


@dataclass
class BlockStack:
    """Frozen weights of every block plus the extras of one variant (see the module docstring)."""

    config: StackConfig
    variant: str
    blocks: list[dict[str, np.ndarray]]
    loras: list[dict[str, Adapter]] = field(default_factory=list)
    adapters: list[list[dict[str, np.ndarray]]] = field(default_factory=list)

    @property
    def extra_params(self) -> int:
        """Numbers this variant adds to the frozen stack (0 for frozen and merged)."""
        lora = sum(np.size(ad[0]) + np.size(ad[1]) for layer in self.loras for ad in layer.values()) \
            if self.variant == "lora" else 0                   # (A, B, scale): an Adapter or a plain tuple
        return lora + sum(p.size for layer in self.adapters for mod in layer for p in mod.values())

    def forward(self, X: np.ndarray) -> np.ndarray:
        """X (batch, seq, d_model) -> (batch, seq, d_model)."""
        X = as_array("X", X, ndim=3)
        check_shape("X", X, (None, None, self.config.d_model), f"= (batch, seq, d_model = {self.config.d_model})")
        for i, p in enumerate(self.blocks):
            X = _block_forward(X, p, self.config.n_heads,
                               self.loras[i] if self.variant == "lora" else None,
                               self.adapters[i] if self.adapters else ())
        return X


def adapter_forward(H: np.ndarray, module: dict[str, np.ndarray]) -> np.ndarray:
    """Bottleneck adapter with its own skip: H + GELU(LN?(H) W_down^T + b_down) W_up^T + b_up.

    H (n, D); module: "down" (m, D), "b_down" (m,), "up" (D, m), "b_up" (D,), optional "ln.g", "ln.b" (D,).
    """
    H = as_real("H", H, ndim=2)
    check_mapping("module", module, ("down", "b_down", "up", "b_up"))
    check_named("module", module, ("down", "b_down", "up", "b_up", "ln.g", "ln.b"), pairs=(".g", ".b"))
    D = H.shape[1]
    m = np.shape(module["down"])[0] if np.ndim(module["down"]) == 2 else -1
    for key, shape in (("down", (m, D)), ("b_down", (m,)), ("up", (D, m)), ("b_up", (D,))):
        as_real(f"module[{key!r}]", module[key])
        check_shape(f"module[{key!r}]", module[key], shape, f"with D = H.shape[1] = {D}")
    return _adapter_forward(H, module)


def _adapter_forward(H: np.ndarray, module: dict[str, np.ndarray]) -> np.ndarray:
    Z = layernorm_forward(H, module["ln.g"], module["ln.b"])[0] if "ln.g" in module else H
    G, _ = gelu_forward(Z @ module["down"].T + module["b_down"])   # (n, m)
    return H + G @ module["up"].T + module["b_up"]                  # (n, D)


def _block_forward(X: np.ndarray, p: dict[str, np.ndarray], n_heads: int, lora: dict[str, Adapter] | None,
                   adapters: list[dict[str, np.ndarray]] | tuple) -> np.ndarray:
    N, T, D = X.shape
    weights = {t: p[f"W{t}"] for t in ("q", "k", "v", "o")}
    H, _ = layernorm_forward(X, p["ln1.g"], p["ln1.b"])
    attn, _ = attention_forward(H, weights, n_heads, {t: tuple(ad) for t, ad in lora.items()} if lora else None)
    attn = attn.reshape(N * T, D)
    if len(adapters) == 2:                      # Adapter^H: first adapter after attention
        attn = _adapter_forward(attn, adapters[0])
    X2 = X.reshape(N * T, D) + attn
    H, _ = layernorm_forward(X2, p["ln2.g"], p["ln2.b"])
    mlp, _ = mlp_forward(H, p["W1"], p["b1"], p["W2"], p["b2"])
    if adapters:                                # Adapter^L and Adapter^H: adapter after the MLP
        mlp = _adapter_forward(mlp, adapters[-1])
    return (X2 + mlp).reshape(N, T, D)


def init_blocks(config: StackConfig, rng: np.random.Generator) -> list[dict[str, np.ndarray]]:
    """Random 'pre-trained' weights (std 0.02 as in GPT-2), layer norms at identity."""
    check_instance("config", config, StackConfig)
    check_rng(rng)
    D, F = config.d_model, config.d_ff
    blocks = []
    for _ in range(config.n_layers):
        p = {f"W{t}": rng.normal(0, 0.02, (D, D)) for t in ("q", "k", "v", "o")}
        p |= {"W1": rng.normal(0, 0.02, (F, D)), "b1": np.zeros(F), "W2": rng.normal(0, 0.02, (D, F)),
              "b2": np.zeros(D)}
        p |= {"ln1.g": np.ones(D), "ln1.b": np.zeros(D), "ln2.g": np.ones(D), "ln2.b": np.zeros(D)}
        blocks.append(p)
    return blocks


def init_qv_loras(config: StackConfig, r: int, rng: np.random.Generator,
                  alpha: float | None = None) -> list[dict[str, Adapter]]:
    """A LoRA pair on Wq and Wv of every block. B is drawn non-zero (as if trained) so merging is visible."""
    check_instance("config", config, StackConfig)
    check_rng(rng)
    D = config.d_model
    check_rank(r, D, D)
    scale = scale_factor(r, alpha)
    out = []
    for _ in range(config.n_layers):
        layer = {}
        for t in ("q", "v"):
            A, _ = init_lora(D, D, r, rng, std=0.02)
            layer[t] = Adapter(A, rng.normal(0, 0.02, (D, r)), scale)
        out.append(layer)
    return out


def init_adapters(config: StackConfig, variant: str, bottleneck: int,
                  rng: np.random.Generator) -> list[list[dict[str, np.ndarray]]]:
    """Adapter modules for ``adapter_l`` (1 per block, with a layer norm) or ``adapter_h`` (2 per block)."""
    check_instance("config", config, StackConfig)
    check_choice("variant", variant, ADAPTERS_PER_BLOCK)
    check_rng(rng)
    D, m = config.d_model, check_positive_int("bottleneck", bottleneck)
    out = []
    for _ in range(config.n_layers):
        mods = []
        for _ in range(ADAPTERS_PER_BLOCK[variant]):
            mod = {"down": rng.normal(0, 0.02, (m, D)), "b_down": np.zeros(m),
                   "up": rng.normal(0, 0.02, (D, m)), "b_up": np.zeros(D)}
            if variant == "adapter_l":
                mod |= {"ln.g": np.ones(D), "ln.b": np.zeros(D)}
            mods.append(mod)
        out.append(mods)
    return out


def merge_stack(blocks: list[dict[str, np.ndarray]], loras: list[dict[str, Adapter]]) -> list[dict[str, np.ndarray]]:
    """New blocks with W = W0 + scale B A folded into every adapted weight; ``blocks`` is left untouched."""
    blocks, loras = check_sequence("blocks", blocks), check_sequence("loras", loras)
    if len(loras) != len(blocks):
        raise InputError(f"loras: expected one dict per block ({len(blocks)}), got {len(loras)}")
    merged = []
    for i, (p, layer) in enumerate(zip(blocks, loras, strict=True)):
        check_mapping(f"blocks[{i}]", p)
        check_named(f"loras[{i}]", layer, [t for t in "qkvo" if f"W{t}" in p])
        q = dict(p)
        for t, ad in layer.items():
            q[f"W{t}"] = merge(p[f"W{t}"], ad)
        merged.append(q)
    return merged


def build_variants(config: StackConfig, rng: np.random.Generator, r: int = 4,
                   bottlenecks: dict[str, int] | None = None,
                   variants: tuple[str, ...] = ("frozen", "lora", "adapter_l", "adapter_h")) -> dict[str, BlockStack]:
    """Every requested variant over the same frozen weights, so that only the extras differ.

    Each variant holds its own copy of those weights: timed in interleaved rounds, a variant that shared
    arrays with another would often find them still in cache from the call before, and one that did not
    (merged LoRA's new Wq, Wv) would look slower than it is (about 1.5 % at d_model 64, batch 1 x 32).
    ``bottlenecks`` maps adapter_l / adapter_h to m; by default each is sized to the paper's 11M budget
    scaled to this stack (``bottleneck_for_budget(scaled_budget(config), ...)``).
    """
    check_instance("config", config, StackConfig)
    check_rng(rng)
    check_rank(r, config.d_model, config.d_model)
    variants = check_sequence("variants", variants)
    unknown = [v for v in variants if not isinstance(v, str) or v not in VARIANTS]
    if unknown:
        raise InputError(f"variants: expected names among {VARIANTS}, got {unknown}")
    if bottlenecks is not None:
        check_mapping("bottlenecks", bottlenecks)
        for v, m in bottlenecks.items():
            check_choice("bottlenecks", v, ADAPTERS_PER_BLOCK)
            check_positive_int(f"bottlenecks[{v!r}]", m)
    blocks = init_blocks(config, rng)
    loras = init_qv_loras(config, r, rng)
    sizes = {v: bottleneck_for_budget(scaled_budget(config), config, v) for v in ADAPTERS_PER_BLOCK}
    sizes |= bottlenecks or {}
    out = {}
    for v in variants:
        own = [{name: w.copy() for name, w in p.items()} for p in blocks]   # no array shared between variants
        if v == "frozen":
            out[v] = BlockStack(config, v, own)
        elif v == "lora":
            out[v] = BlockStack(config, v, own, loras)
        elif v == "merged":
            out[v] = BlockStack(config, v, merge_stack(own, loras), loras)
        else:
            out[v] = BlockStack(config, v, own, adapters=init_adapters(config, v, sizes[v], rng))
    return out
