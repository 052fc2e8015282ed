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


def test_what_a_checked_loop_would_refuse_at_a_later_epoch_is_refused_and_named():
    """Later epochs skip the methods' checks: what those checks guard must hold for every epoch without them."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 8))
    y = (X[:, 0] > 0).astype(float)
    with pytest.raises(ValueError, match="features: expected features and lr that keep the logits finite"), \
            np.errstate(over="ignore", invalid="ignore"):
        P.train_head(X * 1e300, y, P.ClassificationHead(8, np.random.default_rng(1)), 5, 0.5)
    head = P.ClassificationHead(1, np.random.default_rng(1))
    with pytest.raises(ValueError, match="y: expected an array of its own, got one that shares memory with head.b"):
        P.train_head(np.array([[1.0]]), head.b, head, 3, 0.5)             # y would change with every update
    calls = []
    plain = P.ClassificationHead(8, np.random.default_rng(1))
    plain.forward = lambda out: (calls.append(1), P.ClassificationHead.forward(plain, out))[1]
    P.train_head(X, y, plain, 4, 0.1)
    assert len(calls) == 4, "a method set on the instance runs every epoch, as a subclass's does"


@pytest.mark.parametrize(("attr", "value", "words"), [
    ("W", np.ones((8, 1), int), "head.W: expected a writable float array"),
    ("b", np.array([1]), "head.b: expected a writable float array"),
    ("b", np.array([True]), "head.b: expected a real numeric array"),
    ("b", np.array([np.nan]), "head.b: expected finite values"),
    ("b", np.array([0.5 + 0j]), "head.b: expected a real numeric array"),
    ("W", np.ones((8, 1)).tolist(), "head.W: expected a writable float array"),
    ("b", np.zeros(1, np.float16), "head.b: expected a float32 or float64 array"),
])
def test_a_head_that_cannot_be_trained_in_place_is_refused_and_left_alone(attr, value, words):
    head = P.ClassificationHead(8, np.random.default_rng(0))
    setattr(head, attr, value)
    before = {k: np.array(v, copy=True) for k, v in vars(head).items()}
    X = np.random.default_rng(1).normal(size=(6, 8))
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        P.train_head(X, np.array([0, 1, 0, 1, 1, 0.0]), head, 3, 0.1)
    after = {k: np.asarray(v) for k, v in vars(head).items()}
    assert all(after[k].dtype == v.dtype and after[k].tobytes() == v.tobytes() for k, v in before.items()), \
        "nothing was changed"


def test_a_read_only_head_and_out_of_range_numbers_are_refused():
    head = P.ClassificationHead(3, np.random.default_rng(0))
    head.W.setflags(write=False)
    with pytest.raises(ValueError, match="head.W: expected a writable float array"):
        P.train_head(np.ones((4, 3)), [0, 1, 0, 1], head, 2, 0.1)
    with pytest.raises(ValueError, match="lr: expected a finite number > 0, got 1000"):
        P.train_head(np.ones((4, 3)), [0, 1, 0, 1], P.ClassificationHead(3, np.random.default_rng(0)), 2, 10**400)
    with pytest.raises(ValueError, match="features: expected a plain numeric array, got a masked array"):
        P.train_head(np.ma.masked_array(np.ones((4, 3)), mask=np.eye(4, 3)), [0, 1, 0, 1],
                     P.ClassificationHead(3, np.random.default_rng(0)), 2, 0.1)
