"""Figures reported in the LoRA paper (Hu et al., 2021, arXiv:2106.09685), kept as data for comparison.

These are the paper's measurements, cited, never produced by this package; lessons put their own
measurements beside them.
"""

from __future__ import annotations

CITATION = "Hu et al., 2021. LoRA: Low-Rank Adaptation of Large Language Models. arXiv:2106.09685"

# Table 1: GPT-2 medium inference latency (ms) of one forward pass, averaged over 100 trials, NVIDIA RTX8000.
# (batch size, sequence length) -> {variant: ms}
TABLE1_LATENCY_MS = {
    (32, 512): {"Fine-Tune/LoRA": 1449.4, "Adapter^L": 1482.0, "Adapter^H": 1492.2},
    (16, 256): {"Fine-Tune/LoRA": 338.0, "Adapter^L": 354.8, "Adapter^H": 366.3},
    (1, 128): {"Fine-Tune/LoRA": 19.8, "Adapter^L": 23.9, "Adapter^H": 25.8},
}

# Table 5: GPT-3 175B validation accuracy with the same 18M-parameter budget, by adapted weight type.
# (weight types, r) -> (WikiSQL, MultiNLI)
TABLE5_WEIGHT_TYPES = {
    (("q",), 8): (70.4, 91.0),
    (("k",), 8): (70.0, 90.8),
    (("v",), 8): (73.0, 91.0),
    (("o",), 8): (73.2, 91.3),
    (("q", "k"), 4): (71.4, 91.3),
    (("q", "v"), 4): (73.7, 91.3),
    (("q", "k", "v", "o"), 2): (73.7, 91.7),
}

# Table 6: GPT-3 175B validation accuracy of LoRA on (Wq, Wv) by rank r: r -> (WikiSQL, MultiNLI).
TABLE6_QV = {1: (73.4, 91.3), 2: (73.3, 91.4), 4: (73.7, 91.3), 8: (73.8, 91.6), 64: (73.5, 91.4)}
TABLE6_RANKS = tuple(TABLE6_QV)

# Table 4 (GPT-3 175B rows): trainable parameters and results.
TABLE4_GPT3 = {
    "Fine-Tune": {"params": 175_255.8e6, "WikiSQL": 73.8, "MNLI-m": 89.5, "SAMSum": (52.0, 28.0, 44.5)},
    "Adapter^H": {"params": 7.1e6, "WikiSQL": 71.9, "MNLI-m": 89.8, "SAMSum": (53.0, 28.9, 44.8)},
    "LoRA": {"params": 4.7e6, "WikiSQL": 73.4, "MNLI-m": 91.7, "SAMSum": (53.8, 29.8, 45.9)},
}

# Section 7.3: amplification factor of Delta W_q at layer 48 of GPT-3 (r = 4).
AMPLIFICATION_R4 = 21.5

# GPT-3 175B shape used throughout the paper's examples.
GPT3 = {"n_params": 175e9, "d_model": 12288, "n_layers": 96, "bytes_per_param": 2}
GPT2_MEDIUM = {"n_params": 345e6, "d_model": 1024, "n_layers": 24, "n_heads": 16, "d_ff": 4096}
BERT_BASE = {"n_params": 110e6, "d_model": 768, "n_layers": 12}
