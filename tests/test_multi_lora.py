"""Three ways to serve a batch of rows that belong to different LoRA adapters."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lora_course.merge import Adapter
from lora_course.multi_lora import (
    gathered,
    loop_per_adapter,
    merge_per_task,
    round_robin_ids,
    stack_adapters,
    throughput_sweep,
)


def make(d, k, ranks, seed):
    rng = np.random.default_rng(seed)
    W0 = rng.normal(size=(d, k))
    ads = [Adapter(rng.normal(size=(r, k)), rng.normal(size=(d, r)), float(rng.uniform(0.5, 2))) for r in ranks]
    return W0, ads, rng


@settings(max_examples=30, deadline=None)
@given(d=st.integers(1, 7), k=st.integers(1, 7), n=st.integers(1, 12), n_tasks=st.integers(1, 4),
       seed=st.integers(0, 10**6))
def test_three_methods_agree_with_the_per_row_definition(d, k, n, n_tasks, seed):
    rng = np.random.default_rng(seed)
    ranks = [int(rng.integers(1, min(d, k) + 1)) for _ in range(n_tasks)]
    W0, ads, rng = make(d, k, ranks, seed)
    X = rng.normal(size=(n, k))
    ids = rng.integers(0, n_tasks, size=n)
    expected = np.stack([(W0 + ads[t].scale * ads[t].B @ ads[t].A) @ x for x, t in zip(X, ids, strict=True)])
    for H in (merge_per_task(W0, ads, X, ids), loop_per_adapter(W0, ads, X, ids),
              gathered(W0, stack_adapters(ads), X, ids)):
        assert H.shape == (n, d)
        assert np.allclose(H, expected, atol=1e-10, rtol=1e-10)


def test_stack_pads_lower_ranks_with_zeros():
    _, ads, _ = make(5, 4, [1, 3], 0)
    A, B, scales = stack_adapters(ads)
    assert A.shape == (2, 3, 4) and B.shape == (2, 5, 3) and scales.shape == (2,)
    assert np.all(A[0, 1:] == 0) and np.all(B[0, :, 1:] == 0)


def test_bad_task_ids_and_shapes_are_rejected():
    W0, ads, _ = make(4, 3, [2, 2], 0)
    X = np.zeros((3, 3))
    with pytest.raises(ValueError, match=r"task_ids: expected indices in \[0, 1\], got values in \[0, 2\]"):
        loop_per_adapter(W0, ads, X, [0, 1, 2])
    with pytest.raises(TypeError, match="task_ids: expected integers"):
        gathered(W0, stack_adapters(ads), X, [0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match=r"X: expected shape \(\?, 3\).*got \(3, 4\)"):
        merge_per_task(W0, ads, np.zeros((3, 4)), [0, 1, 0])
    _, other, _ = make(5, 3, [2], 1)
    with pytest.raises(ValueError, match=r"adapters\[1\].B: expected shape \(4, 2\)"):
        stack_adapters(ads[:1] + other)


def test_round_robin_and_sweep():
    assert list(round_robin_ids(5, 2)) == [0, 1, 0, 1, 0]
    with pytest.raises(ValueError, match="n_distinct: expected an integer <= 4, got 5"):
        round_robin_ids(4, 5)
    W0, ads, rng = make(8, 8, [2] * 4, 0)
    out = throughput_sweep(W0, ads, rng.normal(size=(8, 8)), [1, 4], repeats=2)
    assert set(out) == {"merge_per_task", "loop_per_adapter", "gathered"}
    assert all(v.shape == (2,) and np.all(v > 0) for v in out.values())
    with pytest.raises(ValueError, match="distinct_counts: expected at most 4"):
        throughput_sweep(W0, ads, rng.normal(size=(8, 8)), [8], repeats=1)
