"""Merging, unmerging and switching adapters, including float32 drift."""

import numpy as np
import pytest

from lora_course.layer import init_lora, linear_lora_forward
from lora_course.merge import Adapter, MergedWeight, merge, merged_delta, switch, unmerge


def adapter(d, k, r, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    A, _ = init_lora(d, k, r, rng, std=0.1)
    return Adapter(A.astype(dtype), rng.normal(0, 0.1, size=(d, r)).astype(dtype), 2.0)


def test_merged_forward_equals_unmerged():
    rng = np.random.default_rng(0)
    W0, X = rng.normal(size=(7, 5)), rng.normal(size=(11, 5))
    ad = adapter(7, 5, 3, 1)
    H, _ = linear_lora_forward(X, W0, *ad)
    assert np.max(np.abs(X @ merge(W0, ad).T - H)) < 1e-12


def test_merge_then_unmerge_restores_w0():
    W0 = np.random.default_rng(0).normal(size=(6, 6))
    ad = adapter(6, 6, 2, 3)
    assert np.allclose(unmerge(merge(W0, ad), ad), W0, atol=1e-15, rtol=0)
    assert merged_delta(*ad).shape == (6, 6)


def test_switch_equals_merging_the_new_adapter():
    W0 = np.random.default_rng(0).normal(size=(6, 4))
    a1, a2 = adapter(6, 4, 2, 1), adapter(6, 4, 2, 2)
    assert np.allclose(switch(merge(W0, a1), a1, a2), merge(W0, a2), atol=1e-14)


def test_repeated_float32_switching_drifts_but_merged_weight_does_not():
    d, n_adapters, n_switches = 64, 5, 1000
    rng = np.random.default_rng(0)
    W0 = rng.normal(size=(d, d)).astype(np.float32)
    adapters = [adapter(d, d, 4, seed, np.float32) for seed in range(n_adapters)]
    naive = merge(W0, adapters[0])
    served = MergedWeight(W0)
    served.switch_to(adapters[0])
    current = 0
    for _ in range(n_switches):
        nxt = (current + 1 + int(rng.integers(n_adapters - 1))) % n_adapters
        naive = switch(naive, adapters[current], adapters[nxt])
        served.switch_to(adapters[nxt])
        current = nxt
    exact = W0.astype(np.float64) + merged_delta(*adapters[current]).astype(np.float64)
    one_merge = np.abs(merge(W0, adapters[current]) - exact).max()
    assert np.abs(naive - exact).max() > 10 * one_merge, "in-place add/subtract accumulates rounding error"
    assert np.abs(served.W - exact).max() == one_merge, "rebuilding from W0 keeps the error of one merge"
    assert np.array_equal(served.W0, W0) and not served.W0.flags.writeable


def test_merge_rejects_mismatched_adapter():
    with pytest.raises(ValueError, match=r"expected shape \(4, 4\).*got \(5, 4\)"):
        merge(np.zeros((4, 4)), adapter(5, 4, 2, 0))
