"""LoRA+ (Hayou et al., 2024, arXiv:2402.12354): B learns with a larger learning rate than A.

Section 3 of the paper argues that with A and B on the same learning rate, the update of a wide layer is
dominated by one factor; setting lr_B = ratio * lr_A with ratio > 1 (the paper suggests 2^4 = 16 as a start)
lets both factors learn efficiently. Only the optimizer changes: the forward pass, the gradients and the
merged weight are those of LoRA.
"""

from __future__ import annotations

import numpy as np

from lora_course.validation import as_array, check_number, check_shape


def loraplus_learning_rates(lr: float, ratio: float) -> tuple[float, float]:
    """(lr_A, lr_B) = (lr, ratio * lr)."""
    lr = check_number("lr", lr, minimum=0)
    ratio = check_number("ratio", ratio, minimum=0)
    return lr, ratio * lr


def loraplus_sgd_step(A: np.ndarray, B: np.ndarray, dA: np.ndarray, dB: np.ndarray, lr: float,
                      ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """One SGD step with LoRA+'s two learning rates: A - lr dA (r, k), B - ratio lr dB (d, r); new arrays."""
    A = as_array("A", A, ndim=2, allow_empty=False)
    B = as_array("B", B, ndim=2, allow_empty=False)
    check_shape("B", B, (None, A.shape[0]), f"= (d, r) with r = A.shape[0] = {A.shape[0]}")
    dA = as_array("dA", dA, ndim=2)
    check_shape("dA", dA, A.shape, "like A")
    dB = as_array("dB", dB, ndim=2)
    check_shape("dB", dB, B.shape, "like B")
    lr_A, lr_B = loraplus_learning_rates(lr, ratio)
    return A - lr_A * dA, B - lr_B * dB
