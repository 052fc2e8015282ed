"""Lesson 05's ``train_head``: the head-only and probe baselines' gradient descent, checked once, then unchecked."""

from __future__ import annotations

import numpy as np
import pytest

import lora_course.lessons.l05_project as P


def through_the_methods(features, y, head, epochs, lr):
    """What lesson 05 wrote in the cell before: every epoch through the checked methods."""
    for _ in range(epochs):
        logits, cache = head.forward(features)
        _, dlogits = P.bce_with_logits(logits, y)
        head.backward(dlogits, cache)
        head.update(lr)
    return head


@pytest.mark.parametrize(("which", "epochs"), [("out", 300), ("h1", 1500), ("h1", 1), ("out", 2)])
def test_train_head_gives_bit_for_bit_what_the_methods_give(which, epochs):
    net = P.make_network(np.random.default_rng(4))
    split = P.make_tasks(np.random.default_rng(5))["B"]
    features = P.network_forward(split.X_train, net) if which == "out" else P.hidden(split.X_train, net)
    want = through_the_methods(features, split.y_train, P.ClassificationHead(features.shape[1],
                                                                               np.random.default_rng(6)), epochs, 0.3)
    got = P.train_head(features, split.y_train, P.ClassificationHead(features.shape[1], np.random.default_rng(6)),
                       epochs, 0.3)
    for name in ("W", "b", "dW", "db"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name


def test_a_subclass_s_own_methods_run_every_epoch():
    """A student's head that changes a method is trained through that method, never past it."""
    calls = []

    class Counted(P.ClassificationHead):
        def update(self, lr):
            calls.append(lr)
            super().update(lr)

    head = P.train_head(np.ones((4, 3)), np.array([0.0, 1.0, 0.0, 1.0]), Counted(3, np.random.default_rng(0)), 7, 0.1)
    assert calls == [0.1] * 7 and isinstance(head, Counted)


def test_bad_arguments_are_named_before_any_epoch():
    head = P.ClassificationHead(3, np.random.default_rng(0))
    before = head.W.copy()
    cases = [((np.ones((4, 2)), [0, 1, 0, 1], head, 3, 0.1), "features: expected shape (?, 3)"),
             ((np.ones((4, 3)), [0, 1, 2, 1], head, 3, 0.1), "y: expected labels in {0, 1}"),
             ((np.ones((4, 3)), [0, 1, 0], head, 3, 0.1), "y: expected shape (4,)"),
             ((np.ones((0, 3)), [], head, 3, 0.1), "features: expected a non-empty array"),
             ((np.ones((4, 3)), [0, 1, 0, 1], head, 0, 0.1), "epochs: expected an integer >= 1"),
             ((np.ones((4, 3)), [0, 1, 0, 1], head, 3, -1.0), "lr: expected"),
             ((np.ones((4, 3)), [0, 1, 0, 1], "head", 3, 0.1), "head: expected")]
    for args, words in cases:
        with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
            P.train_head(*args)
    assert np.array_equal(head.W, before), "a refused call trains nothing"
