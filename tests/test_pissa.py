"""PiSSA: the layer starts at W0, scale B A is the best rank-r approximation, the singular values are split
evenly, signs are canonical, and the residual holds what the adapter does not."""

import numpy as np
import pytest

from lora_course.lowrank import best_rank_r
from lora_course.pissa import canonical_signs, pissa_init


@pytest.mark.parametrize(("r", "scale"), [(1, 1.0), (2, 2.0), (3, 0.5)])
def test_start_is_w0_and_adapter_is_the_top_rank_r_part(r, scale):
    W0 = np.random.default_rng(r).normal(size=(6, 8))
    A, B, W_res = pissa_init(W0, r, scale)
    assert A.shape == (r, 8) and B.shape == (6, r)
    assert np.allclose(W_res + scale * B @ A, W0, atol=1e-12)
    assert np.allclose(scale * B @ A, best_rank_r(W0, r), atol=1e-12)


def test_singular_values_are_split_evenly():
    W0 = np.random.default_rng(5).normal(size=(7, 4))
    A, B, _ = pissa_init(W0, 3, 2.0)
    S = np.linalg.svd(W0, compute_uv=False)[:3]
    assert np.allclose(np.linalg.norm(A, axis=1), np.sqrt(S / 2.0))
    assert np.allclose(np.linalg.norm(B, axis=0), np.sqrt(S / 2.0))


def test_canonical_signs_undo_any_flip_of_a_singular_pair():
    W0 = np.random.default_rng(6).normal(size=(5, 5))
    A, B, _ = pissa_init(W0, 3)
    flips = np.array([-1.0, 1.0, -1.0])
    A2, B2 = canonical_signs(flips[:, None] * A, B * flips)
    assert np.array_equal(A2, A) and np.array_equal(B2, B)
    assert np.all(B2[np.argmax(np.abs(B2), axis=0), range(3)] > 0)
