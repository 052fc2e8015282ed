"""What lesson 05's project gives the student: a frozen two-layer network, two tasks' data, a head, a loss.

Everything is built from an explicit ``np.random.Generator``, so the grader can rebuild it from a seed.
Row convention (a batch of n rows):

    h1  = relu(X W1 + b1)        X: (n, d)      W1: (d, d_ff)   b1: (d_ff,)  -> h1: (n, d_ff)
    out = h1 W2 + b2                            W2: (d_ff, d)   b2: (d,)     -> out: (n, d)
    p   = sigmoid(out w + c)     head w: (d, 1), c: (1,)                      -> p: (n,)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lora_course.validation import (
    InputError,
    InputTypeError,
    as_array,
    check_gradient,
    check_instance,
    check_number,
    check_positive_int,
    check_rng,
    check_shape,
    check_size,
)

D_MODEL = 8    # d: the network's width (input and output)
D_FF = 16      # d_ff: the hidden ReLU layer's width
TASKS = ("A", "B")


@dataclass
class FrozenNetwork:
    """The 'pre-trained' weights: W1 (d, d_ff), b1 (d_ff,), W2 (d_ff, d), b2 (d,). Never trained."""

    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray

    def __post_init__(self) -> None:
        W1, W2 = as_array("W1", self.W1, ndim=2), as_array("W2", self.W2, ndim=2)
        d, d_ff = W1.shape
        check_shape("W2", W2, (d_ff, d), f"= (d_ff, d) with W1 (d, d_ff) = {W1.shape}")
        check_shape("b1", as_array("b1", self.b1, ndim=1), (d_ff,), f"= (d_ff,) with d_ff = {d_ff}; a bias must "
                    "not rely on broadcasting")
        check_shape("b2", as_array("b2", self.b2, ndim=1), (d,), f"= (d,) with d = {d}")

    def arrays(self) -> dict[str, np.ndarray]:
        """The four arrays by name (views, not copies)."""
        return {"W1": self.W1, "b1": self.b1, "W2": self.W2, "b2": self.b2}

    def copy(self) -> FrozenNetwork:
        """An independent copy (new arrays)."""
        return FrozenNetwork(**{k: v.copy() for k, v in self.arrays().items()})

    @property
    def n_params(self) -> int:
        """W1.size + b1.size + W2.size + b2.size."""
        return sum(v.size for v in self.arrays().values())


def make_network(rng: np.random.Generator, d: int = D_MODEL, d_ff: int = D_FF,
                 weight_std: float = 0.3, bias_std: float = 0.1) -> FrozenNetwork:
    """A random 'pre-trained' network: Gaussian weights (std ``weight_std``) and small Gaussian biases."""
    rng = check_rng(rng)
    d, d_ff = check_positive_int("d", d), check_positive_int("d_ff", d_ff)
    check_size({"d": d, "d_ff": d_ff}, "W1 (d, d_ff)")
    check_number("weight_std", weight_std, minimum=0, strict=False)
    check_number("bias_std", bias_std, minimum=0, strict=False)
    return FrozenNetwork(W1=rng.normal(0.0, weight_std, (d, d_ff)), b1=rng.normal(0.0, bias_std, d_ff),
                         W2=rng.normal(0.0, weight_std, (d_ff, d)), b2=rng.normal(0.0, bias_std, d))


def hidden(X: np.ndarray, net: FrozenNetwork) -> np.ndarray:
    """First frozen layer: relu(X W1 + b1). X (n, d) -> h1 (n, d_ff)."""
    check_instance("net", net, FrozenNetwork)
    X = as_array("X", X, ndim=2)
    check_shape("X", X, (None, net.W1.shape[0]), f"= (n, d) with d = {net.W1.shape[0]}")
    check_shape("net.b1", net.b1, net.W1.shape[1:], f"= (d_ff,) with d_ff = {net.W1.shape[1]}")
    return np.maximum(0.0, X @ net.W1 + net.b1)


def network_forward(X: np.ndarray, net: FrozenNetwork) -> np.ndarray:
    """The frozen network (or a merged one: same shapes, same cost): X (n, d) -> out (n, d)."""
    h1 = hidden(X, net)
    check_shape("net.W2", net.W2, (h1.shape[1], None), f"= (d_ff, d) with d_ff = {h1.shape[1]}")
    check_shape("net.b2", net.b2, net.W2.shape[1:], f"= (d,) with d = {net.W2.shape[1]}")
    return h1 @ net.W2 + net.b2


def label(task: str, X: np.ndarray) -> np.ndarray:
    """Task A: 1 where the features sum to > 0. Task B: 1 where the first feature is > 0. Shape (n,)."""
    if not isinstance(task, str) or task not in TASKS:
        raise InputError(f"task: expected one of {TASKS}, got {task!r}")
    X = as_array("X", X, ndim=2)
    if X.shape[1] == 0:
        raise InputError(f"X: expected at least one feature column, got shape {X.shape}")
    if task == "A":
        return (X.sum(axis=1) > 0).astype(float)
    if task == "B":
        return (X[:, 0] > 0).astype(float)
    raise InputError(f"task: expected one of {TASKS}, got {task!r}")


@dataclass(frozen=True)
class Split:
    """One task's data: X_train (n_train, d), y_train (n_train,), X_test (n_test, d), y_test (n_test,)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def make_tasks(rng: np.random.Generator, n_train: int = 200, n_test: int = 1000,
               d: int = D_MODEL) -> dict[str, Split]:
    """Both tasks on one set of Gaussian inputs, with a held-out test split: {"A": Split, "B": Split}."""
    rng = check_rng(rng)
    n_train, n_test = check_positive_int("n_train", n_train), check_positive_int("n_test", n_test)
    d = check_positive_int("d", d)
    check_size({"n_train": n_train, "d": d}, "X_train (n_train, d)")
    check_size({"n_test": n_test, "d": d}, "X_test (n_test, d)")
    X_train = rng.normal(size=(n_train, d))
    X_test = rng.normal(size=(n_test, d))
    return {t: Split(X_train, label(t, X_train), X_test, label(t, X_test)) for t in TASKS}


def bce_with_logits(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean binary cross-entropy of sigmoid(logits) against y, computed stably.

    logits (n,), y (n,) in {0, 1} -> (loss, dlogits (n,)), dlogits = (sigmoid(logits) - y) / n.
    """
    logits = as_array("logits", logits, ndim=1)
    y = as_array("y", y, ndim=1)
    check_shape("y", y, logits.shape, "= logits' shape (n,)")
    if logits.size == 0:
        raise InputError("logits: expected at least one row, got an empty batch (n = 0)")
    if not np.all((y == 0) | (y == 1)):
        raise InputError(f"y: expected labels in {{0, 1}}, got values {np.unique(y)[:5].tolist()}")
    loss = float(np.mean(np.logaddexp(0.0, logits) - y * logits))   # -y log p - (1 - y) log (1 - p)
    return loss, _bce_gradient(logits, y)


def _bce_gradient(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dlogits = (sigmoid(logits) - y) / n on checked inputs (``train_head``'s epochs after the first need no loss)."""
    return (_sigmoid(logits) - y) / logits.size


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)) without overflow warnings."""
    return _sigmoid(as_array("z", z))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


class ClassificationHead:
    """Logistic-regression head on the network's output: logits = out w + c. Trained per task.

    w: (d, 1), c: (1,). ``forward`` returns (logits (n,), cache); ``backward`` stores dW, db, returns dout.
    """

    def __init__(self, d: int, rng: np.random.Generator, init_std: float = 0.01) -> None:
        d = check_positive_int("d", d)
        check_rng(rng)
        check_number("init_std", init_std, minimum=0, strict=False)
        self.W = rng.normal(0.0, init_std, (d, 1))
        self.b = np.zeros(1)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)

    def forward(self, out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """out (n, d) -> logits (n,), cache = out."""
        out = as_array("out", out, ndim=2)
        check_shape("head.W", self.W, (None, 1), "= (d, 1)")
        check_shape("head.b", self.b, (1,), "= (1,), one bias for the one logit")
        check_shape("out", out, (None, self.W.shape[0]), f"= (n, d) with d = {self.W.shape[0]}")
        return self._forward(out)

    def _forward(self, out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``forward`` on a checked out and head."""
        return (out @ self.W + self.b)[:, 0], out

    def backward(self, dlogits: np.ndarray, cache: np.ndarray) -> np.ndarray:
        """dlogits (n,) -> dout (n, d); stores dW (d, 1) and db (1,)."""
        out = as_array("cache", cache, ndim=2)
        check_shape("cache", out, (None, self.W.shape[0]), "= the out (n, d) that forward returned")
        dlogits = check_gradient("dlogits", dlogits, (out.shape[0],), "= (n,) like forward's logits")
        self._gradients(dlogits, out)
        return dlogits[:, None] @ self.W.T

    def _gradients(self, dlogits: np.ndarray, out: np.ndarray) -> None:
        """Store dW (d, 1) and db (1,) for a checked dlogits (n,) and out (n, d)."""
        self.dW = out.T @ dlogits[:, None]
        self.db = np.array([dlogits.sum()])

    def update(self, lr: float) -> None:
        """One step of gradient descent on W and b."""
        self._update(check_number("lr", lr, minimum=0))

    def _update(self, lr: float) -> None:
        self.W -= lr * self.dW      # (d, 1)
        self.b -= lr * self.db      # (1,)

    def predict(self, out: np.ndarray) -> np.ndarray:
        """Class 1 where the logit is > 0 (probability > 0.5): out (n, d) -> (n,) floats in {0, 1}."""
        return (self.forward(out)[0] > 0).astype(float)

    @property
    def n_params(self) -> int:
        """W.size + b.size."""
        return self.W.size + self.b.size


def accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    """Share of ``pred`` equal to ``y`` (both (n,))."""
    pred, y = as_array("pred", pred, ndim=1), as_array("y", y, ndim=1)
    check_shape("pred", pred, y.shape, "= y's shape")
    if y.size == 0:
        raise InputError("y: expected at least one label, got an empty array")
    return float(np.mean(pred == y))


def train_head(features: np.ndarray, y: np.ndarray, head: ClassificationHead, epochs: int,
               lr: float) -> ClassificationHead:
    """Full-batch gradient descent on ``head`` alone, on fixed features (n, d) with labels y (n,); returns ``head``.

    The first epoch goes through ``forward``, ``bce_with_logits``, ``backward`` and ``update``, which check
    everything; the others repeat the same arithmetic unchecked (only W and b change, by steps of our own),
    unless ``head`` is a subclass, whose own methods then run every epoch.
    """
    check_instance("head", head, ClassificationHead)
    features = as_array("features", features, ndim=2, allow_empty=False)
    y = as_array("y", y, ndim=1)
    for name, arr in (("head.W", head.W), ("head.b", head.b)):      # both change in place, every epoch
        checked = as_array(name, arr, ndim=2 if name == "head.W" else 1)
        if checked is not arr or arr.dtype.kind != "f" or not arr.flags.writeable:
            raise InputTypeError(f"{name}: expected a writable float array (it is updated in place), got "
                                 f"{type(arr).__name__} of dtype {checked.dtype}")
        for other, given in (("features", features), ("y", y)):
            if np.shares_memory(arr, given):
                raise InputError(f"{other}: expected an array of its own, got one that shares memory with {name} "
                                 f"(training would change it); pass {other}.copy()")
    check_shape("head.W", head.W, (None, 1), "= (d, 1)")
    check_shape("head.b", head.b, (1,), "= (1,), one bias for the one logit")
    d = head.W.shape[0]
    check_shape("features", features, (None, d), f"= (n, d) with d = head.W.shape[0] = {d}")
    check_shape("y", y, (features.shape[0],), "= (n,), one label per row of features")
    epochs = check_positive_int("epochs", epochs)
    lr = check_number("lr", lr, minimum=0)
    # a subclass, or an instance with a method of its own: its methods run every epoch
    own_methods = type(head) is not ClassificationHead or any(callable(v) for v in vars(head).values())
    for epoch in range(epochs):
        logits, out = head.forward(features) if epoch == 0 or own_methods else head._forward(features)
        if not np.isfinite(logits).all():
            raise InputError(f"features: expected features and lr that keep the logits finite, got logits that "
                             f"overflowed at epoch {epoch} (scale the features down or lower lr)")
        if epoch == 0 or own_methods:
            _, dlogits = bce_with_logits(logits, y)
            head.backward(dlogits, out)
            head.update(lr)
        else:
            head._gradients(_bce_gradient(logits, y), out)
            head._update(lr)
    return head
