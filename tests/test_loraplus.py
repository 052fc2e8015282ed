"""LoRA+: A moves at lr, B at ratio * lr; ratio 1 is plain SGD; the inputs are not modified."""

import numpy as np

from lora_course.loraplus import loraplus_learning_rates, loraplus_sgd_step


def test_two_rates_and_inputs_untouched():
    rng = np.random.default_rng(0)
    A, B, dA, dB = rng.normal(size=(2, 5)), rng.normal(size=(4, 2)), rng.normal(size=(2, 5)), rng.normal(size=(4, 2))
    A0, B0 = A.copy(), B.copy()
    A1, B1 = loraplus_sgd_step(A, B, dA, dB, 0.1, 16.0)
    assert np.allclose(A1, A - 0.1 * dA) and np.allclose(B1, B - 1.6 * dB)
    assert np.array_equal(A, A0) and np.array_equal(B, B0)
    assert loraplus_learning_rates(0.1, 1.0) == (0.1, 0.1)
