"""The paper's Table 1 re-measured with PyTorch: GPT-2 medium's block stack, base vs LoRA vs adapters.

One set of random frozen weights serves every variant, so only the extras differ:

- ``base``: the frozen blocks alone (a full fine-tune has exactly this cost);
- ``merged``: LoRA (r = 4 on Wq and Wv) folded in, W = W0 + (alpha/r) B A: its own Wq, Wv, the rest shared;
- ``lora``: the same LoRA unmerged, ``X W0^T + scale (X A^T) B^T`` on Wq and Wv;
- ``adapter_l`` / ``adapter_h``: bottleneck adapters sized as in ``lora_course.toy.blocks`` (the paper's
  |Theta|: 0.5M at batch 32 x 512, 11M otherwise, as the same share of a smaller stack).

Blocks are GPT-2's: pre-LN, causal attention (``scaled_dot_product_attention``), tanh-GELU MLP of 4 d,
biases everywhere; no embeddings and no output head (as in lesson 04). Times are per forward pass
under ``torch.inference_mode``; on a GPU each call is timed with CUDA events. Rounds interleave the
variants (``lora_course.measure.timing``) and each variant is reported as its per-round ratio to
``base``, with a bootstrap interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lora_course.layer import scale_factor
from lora_course.measure.timing import Interval, time_until_resolved, wall_clock
from lora_course.paper import GPT2_MEDIUM
from lora_course.toy.blocks import (
    ADAPTERS_PER_BLOCK,
    PAPER_ADAPTER_PARAMS,
    PAPER_ADAPTER_PARAMS_LARGEST,
    StackConfig,
    bottleneck_for_budget,
    scaled_budget,
)

VARIANTS = ("base", "merged", "lora", "adapter_l", "adapter_h")
LABELS = {"base": "base (= full fine-tune)", "merged": "LoRA merged", "lora": "LoRA unmerged (q, v)",
          "adapter_l": "Adapter^L", "adapter_h": "Adapter^H"}
PAPER_LABEL = {"base": "Fine-Tune/LoRA", "merged": "Fine-Tune/LoRA", "lora": None,
               "adapter_l": "Adapter^L", "adapter_h": "Adapter^H"}
PAPER_CASES = ((32, 512), (16, 256), (1, 128))
GPT2_MEDIUM_CONFIG = StackConfig(GPT2_MEDIUM["d_model"], GPT2_MEDIUM["n_heads"], GPT2_MEDIUM["n_layers"],
                                 GPT2_MEDIUM["d_ff"])
# Without a GPU: a stack 16x narrower and 6x shallower, and sequences 8x shorter (batch sizes kept small too).
CPU_CONFIG = StackConfig(64, 4, 4)
CPU_CASES = ((4, 64), (2, 32), (1, 16))
DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
MERGED_TOLERANCE = 0.03   # merged / base = 1 +- 3 %: "no additional inference latency"


def cuda_event_measure(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes on the current CUDA stream, by a pair of CUDA events."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / 1000.0


def measure_for(device: torch.device) -> Callable[[Callable[[], object]], float]:
    """CUDA events on a GPU, the wall clock on the CPU (where torch runs synchronously)."""
    return cuda_event_measure if device.type == "cuda" else wall_clock


def budget_for(paper_case: tuple[int, int], config: StackConfig) -> float:
    """The paper's adapter |Theta| for its column ``paper_case`` (0.5M at 32 x 512, else 11M), scaled to ``config``."""
    paper = PAPER_ADAPTER_PARAMS_LARGEST if tuple(paper_case) == (32, 512) else PAPER_ADAPTER_PARAMS
    return scaled_budget(config, paper)


@dataclass
class TorchStack:
    """Weights of every block for one variant (tensors shared with the other variants where equal)."""

    config: StackConfig
    variant: str
    blocks: list[dict[str, torch.Tensor]]
    loras: list[dict[str, tuple[torch.Tensor, torch.Tensor]]] | None = None
    scale: float = 1.0
    adapters: list[list[dict[str, torch.Tensor]]] | None = None

    @property
    def extra_params(self) -> int:
        lora = sum(A.numel() + B.numel() for layer in self.loras for A, B in layer.values()) if self.loras else 0
        return lora + sum(p.numel() for layer in self.adapters or () for mod in layer for p in mod.values())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (batch, seq, d_model) -> (batch, seq, d_model)."""
        for i, p in enumerate(self.blocks):
            x = block_forward(x, p, self.config.n_heads, self.loras[i] if self.loras else None, self.scale,
                              self.adapters[i] if self.adapters else ())
        return x


def adapter_forward(h: torch.Tensor, mod: dict[str, torch.Tensor]) -> torch.Tensor:
    """h + GELU(LN?(h) W_down^T + b_down) W_up^T + b_up; h (..., D), bottleneck m."""
    z = F.layer_norm(h, h.shape[-1:], mod["ln.g"], mod["ln.b"], 1e-5) if "ln.g" in mod else h
    return h + F.linear(F.gelu(F.linear(z, mod["down"], mod["b_down"]), approximate="tanh"), mod["up"], mod["b_up"])


def block_forward(x: torch.Tensor, p: dict[str, torch.Tensor], n_heads: int,
                  lora: dict[str, tuple[torch.Tensor, torch.Tensor]] | None, scale: float,
                  adapters: list[dict[str, torch.Tensor]] | tuple) -> torch.Tensor:
    """One GPT-2 block; ``lora`` maps "q"/"v" to (A (r, D), B (D, r)); ``adapters`` holds 0, 1 or 2 modules."""
    N, T, D = x.shape
    h = F.layer_norm(x, (D,), p["ln1.g"], p["ln1.b"], 1e-5)
    proj = {}
    for t in ("q", "k", "v"):
        out = F.linear(h, p[f"W{t}"], p[f"b{t}"])
        if lora and t in lora:
            A, B = lora[t]
            out = out + scale * F.linear(F.linear(h, A), B)          # scale * (h A^T) B^T
        proj[t] = out.view(N, T, n_heads, D // n_heads).transpose(1, 2)  # (N, H, T, dh)
    a = F.scaled_dot_product_attention(proj["q"], proj["k"], proj["v"], is_causal=True)
    a = F.linear(a.transpose(1, 2).reshape(N, T, D), p["Wo"], p["bo"])
    if len(adapters) == 2:                                           # Adapter^H: after attention too
        a = adapter_forward(a, adapters[0])
    x = x + a
    h = F.layer_norm(x, (D,), p["ln2.g"], p["ln2.b"], 1e-5)
    m = F.linear(F.gelu(F.linear(h, p["W1"], p["b1"]), approximate="tanh"), p["W2"], p["b2"])
    if adapters:                                                     # Adapter^L and ^H: after the MLP
        m = adapter_forward(m, adapters[-1])
    return x + m


def build_torch_variants(config: StackConfig, budget: float, *, dtype: torch.dtype, device: torch.device | str,
                         seed: int = 0, r: int = 4) -> tuple[dict[str, TorchStack], dict[str, int]]:
    """Every variant over ONE set of random frozen weights (std 0.02, as GPT-2); returns them and the bottlenecks."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    D, Fh = config.d_model, config.d_ff

    def normal(*shape: int) -> torch.Tensor:
        return (0.02 * torch.randn(*shape, generator=gen)).to(device=device, dtype=dtype)

    def const(value: float, n: int) -> torch.Tensor:
        return torch.full((n,), value, device=device, dtype=dtype)

    blocks = []
    for _ in range(config.n_layers):
        p = {f"W{t}": normal(D, D) for t in "qkvo"} | {f"b{t}": const(0.0, D) for t in "qkvo"}
        p |= {"W1": normal(Fh, D), "b1": const(0.0, Fh), "W2": normal(D, Fh), "b2": const(0.0, D)}
        p |= {"ln1.g": const(1.0, D), "ln1.b": const(0.0, D), "ln2.g": const(1.0, D), "ln2.b": const(0.0, D)}
        blocks.append(p)
    scale = scale_factor(r)
    loras = [{t: (normal(r, D), normal(D, r)) for t in ("q", "v")} for _ in range(config.n_layers)]  # B as trained
    merged = [p | {f"W{t}": p[f"W{t}"] + scale * (lo[t][1] @ lo[t][0]) for t in lo}   # W0 + scale B A
              for p, lo in zip(blocks, loras, strict=True)]
    sizes = {v: bottleneck_for_budget(budget, config, v) for v in ADAPTERS_PER_BLOCK}
    stacks = {"base": TorchStack(config, "base", blocks), "merged": TorchStack(config, "merged", merged),
              "lora": TorchStack(config, "lora", blocks, loras, scale)}
    for v, m in sizes.items():
        mods = []
        for _ in range(config.n_layers):
            layer = []
            for _ in range(ADAPTERS_PER_BLOCK[v]):
                mod = {"down": normal(m, D), "b_down": const(0.0, m), "up": normal(D, m), "b_up": const(0.0, D)}
                if v == "adapter_l":
                    mod |= {"ln.g": const(1.0, D), "ln.b": const(0.0, D)}
                layer.append(mod)
            mods.append(layer)
        stacks[v] = TorchStack(config, v, blocks, adapters=mods)
    return stacks, sizes


@dataclass(frozen=True)
class CaseResult:
    """One (dtype, batch, seq) case: median ms of every variant and its ratio to base with an interval."""

    dtype: str
    batch: int
    seq: int
    rounds: int
    median_ms: dict[str, float]
    ratio: dict[str, Interval]
    bottlenecks: dict[str, int]
    paper_case: tuple[int, int]
    threads: int = 0          # torch's CPU threads while timing


def measure_case(config: StackConfig, case: tuple[int, int], dtype_name: str, device: torch.device, *,
                 paper_case: tuple[int, int], seed: int = 0, r: int = 4, warmup: int | None = None,
                 max_seconds: float = 20.0,
                 min_rounds: int = 10, max_rounds: int = 200, target_halfwidth: float = 0.01) -> CaseResult:
    """Time every variant at (batch, seq) = ``case`` in ``dtype_name`` ("fp32" or "fp16") on ``device``."""
    dtype = DTYPES[dtype_name]
    warmup = (3 if device.type == "cuda" else 1) if warmup is None else warmup
    stacks, sizes = build_torch_variants(config, budget_for(paper_case, config), dtype=dtype, device=device,
                                         seed=seed, r=r)
    gen = torch.Generator(device="cpu").manual_seed(seed + 1)
    x = torch.randn(*case, config.d_model, generator=gen).to(device=device, dtype=dtype)
    with torch.inference_mode():
        out = {v: s.forward(x) for v, s in stacks.items()}
        gap = float((out["merged"].float() - out["lora"].float()).norm() / out["lora"].float().norm())
        if not gap < 1e-2:   # fp16 rounding gives ~1e-3 after 24 blocks; a wrong merge gives order 1
            raise AssertionError(f"merged and unmerged LoRA should compute the same function, relative gap {gap:.1e}")
        variants = {v: (lambda s=s, x=x: s.forward(x)) for v, s in stacks.items()}
        for _ in range(warmup):
            for fn in variants.values():
                fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        rng = np.random.default_rng(seed)
        times, ratio = time_until_resolved(variants, "base", rng=rng, min_rounds=min_rounds, max_rounds=max_rounds,
                                           target_halfwidth=target_halfwidth, max_seconds=max_seconds,
                                           measure=measure_for(device))
    del stacks, out, x
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return CaseResult(dtype_name, case[0], case[1], len(times["base"]),
                      {v: 1000 * float(np.median(t)) for v, t in times.items()}, ratio, sizes, paper_case,
                      torch.get_num_threads())


def table1(device: str | torch.device = "cpu", *, dtypes: tuple[str, ...] = ("fp32", "fp16"),
           config: StackConfig | None = None, cases: tuple[tuple[int, int], ...] | None = None, seed: int = 0,
           r: int = 4, max_seconds: float | None = None, progress: Callable[[str], None] | None = None,
           cpu_threads: int = 1, **kwargs) -> list[CaseResult]:
    """Every case x dtype. Defaults: on CUDA, GPT-2 medium and the paper's cases (20 s a case at most);
    on the CPU, ``CPU_CONFIG`` and ``CPU_CASES`` (2 s a case, ``cpu_threads`` torch threads; 0 = as set),
    each mirroring the paper's column in order."""
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: expected a machine with a CUDA GPU for 'cuda', but torch sees none")
    gpu = device.type == "cuda"
    config = config or (GPT2_MEDIUM_CONFIG if gpu else CPU_CONFIG)
    cases = cases or (PAPER_CASES if gpu else CPU_CASES)
    max_seconds = max_seconds if max_seconds is not None else (20.0 if gpu else 2.0)
    unknown = [d for d in dtypes if d not in DTYPES]
    if unknown:
        raise ValueError(f"dtypes: expected names among {tuple(DTYPES)}, got {unknown}")
    if len(cases) != len(PAPER_CASES):
        raise ValueError(f"cases: expected {len(PAPER_CASES)} (batch, seq) pairs, one per paper column, got {cases}")
    results = []
    threads = torch.get_num_threads()
    if device.type == "cpu" and cpu_threads:
        torch.set_num_threads(cpu_threads)   # steadier on a shared machine, like lesson 04's BLAS pinning
    try:
        for dtype in dtypes:
            for case, paper_case in zip(cases, PAPER_CASES, strict=True):
                results.append(measure_case(config, case, dtype, device, paper_case=paper_case, seed=seed, r=r,
                                            max_seconds=max_seconds, **kwargs))
                if progress is not None:
                    progress(f"{dtype} {case[0]}x{case[1]}")
    finally:
        torch.set_num_threads(threads)
    return results
