"""The student walk's lesson 05 rows: right answers and new mistakes of the LoRA class, the adapted network, the
training loop and the merge, built on the solution's own classes (rows in ``tests/student_walk.py``)."""

from __future__ import annotations

import numpy as np
from walk_rows import Right

# ------------------------------------------------------------------------------------------------- lesson 05

def rows(sol: dict) -> tuple[list, list]:
    base, hidden, bce, Network = sol["LoRA"], sol["hidden"], sol["bce_with_logits"], sol["FrozenNetwork"]
    fwd, bwd = sol["adapted_forward"], sol["adapted_backward"]

    class EinsumLoRA(base):
        def __init__(self, d_in, d_out, r, *, rng=None, alpha=None, init_scale=0.01):
            self.r = int(r)
            self.alpha = r if alpha is None else alpha
            self.scale = self.alpha / self.r
            self.A = init_scale * rng.standard_normal((r, d_in))
            self.B = np.zeros((d_out, r))
            self.dA, self.dB = np.zeros_like(self.A), np.zeros_like(self.B)

        def forward(self, x):
            z = np.einsum("nk,rk->nr", x, self.A)
            return self.scale * np.einsum("nr,dr->nd", z, self.B), {"x": x, "z": z}

        def backward(self, g, cache):
            x, z = cache["x"], cache["z"]
            self.dB = self.scale * np.einsum("nd,nr->dr", g, z)
            dz = self.scale * g @ self.B
            self.dA = dz.T @ x
            return dz @ self.A

        def update(self, lr):
            self.A = self.A - lr * self.dA              # new arrays, not in place
            self.B = self.B - lr * self.dB

        def get_merged_delta(self):
            return self.scale * np.einsum("dr,rk->dk", self.B, self.A)

    class MergedLoRA(base):
        def forward(self, x):
            return x @ self.get_merged_delta().T, x

        def backward(self, g, x):
            self.dB = self.scale * g.T @ (x @ self.A.T)
            self.dA = self.scale * self.B.T @ g.T @ x
            return g @ self.get_merged_delta()

    class ListCacheLoRA(base):
        def forward(self, x):
            z = np.dot(x, self.A.T)
            return self.scale * np.dot(z, self.B.T), [x, z]

        def backward(self, g, cache):
            x, z = cache
            self.dB = self.scale * np.dot(g.T, z)
            self.dA = self.scale * np.dot(np.dot(g, self.B).T, x)
            return self.scale * np.dot(np.dot(g, self.B), self.A)

        def update(self, lr):
            np.subtract(self.A, lr * self.dA, out=self.A)      # in place on its own factors: allowed
            np.subtract(self.B, lr * self.dB, out=self.B)

    class FloorLoRA(base):
        def __init__(self, d_in, d_out, r, *, rng=None, alpha=None, init_scale=0.01):
            base.__init__(self, d_in, d_out, r, alpha, init_scale, rng)
            self.scale = self.alpha // self.r

    class UpdatesOnlyA(base):
        def update(self, lr):
            self.A -= lr * self.dA

    class CacheFirst(base):
        def forward(self, x):
            delta, cache = base.forward(self, x)
            return cache, delta

    class BackwardReturnsNothing(base):
        def backward(self, g, cache):
            base.backward(self, g, cache)

    class FixedShapes(base):
        def __init__(self, d_in, d_out, r, *, rng=None, alpha=None, init_scale=0.01):
            base.__init__(self, d_in, d_out, r, alpha, init_scale, rng)
            self.A, self.B = rng.normal(0, init_scale, size=(4, 16)), np.zeros((8, 4))

    def forward_explicit_relu(X, net, lora_1, lora_2):
        h1 = np.maximum(X @ net.W1 + net.b1, 0.0)
        d1, c1 = lora_1.forward(h1)
        h2 = np.add(h1 @ net.W2 + net.b2, d1)
        d2, c2 = lora_2.forward(h2)
        print("out", h2.shape)
        return [h2 + d2, (c1, c2)]

    def forward_wide_cache(X, net, lora_1, lora_2):
        h1 = hidden(X, net)
        d1, c1 = lora_1.forward(h1)
        h2 = h1.dot(net.W2) + net.b2 + d1
        d2, c2 = lora_2.forward(h2)
        return h2 + d2, (c1, c2, h1, h2)

    def backward_wide_cache(grad_out, cache, lora_1, lora_2):
        c1, c2, _, _ = cache
        grad_h2 = grad_out.copy()
        grad_h2 += lora_2.backward(grad_out, c2)
        lora_1.backward(grad_h2, c1)
        return grad_h2

    def forward_named(X: np.ndarray, net, lora_1, lora_2, *, verbose: bool = False):
        """Type hints, a keyword-only flag and a docstring."""
        pre = X @ net.W1 + net.b1
        h1 = pre * (pre > 0)
        h2 = h1 @ net.W2 + net.b2 + lora_1.forward(h1)[0]
        cache_2 = lora_2.forward(h2)
        return h2 + cache_2[0], (lora_1.forward(h1)[1], cache_2[1])

    def backward_sum(grad_out, cache, lora_1, lora_2):
        grad_h2 = sum([grad_out, lora_2.backward(grad_out, cache[1])])
        lora_1.backward(grad_h2, cache[0])
        return grad_h2

    def backward_no_lora_1(grad_out, cache, lora_1, lora_2):
        return grad_out + lora_2.backward(grad_out, cache[1])

    def train_map_floats(X, y, net, lora_1, lora_2, head, epochs=300, lr=0.3):
        losses = []
        for _ in range(int(epochs)):
            out, cache = fwd(X, net, lora_1, lora_2)
            logits, head_cache = head.forward(out)
            loss, dlogits = bce(logits, y)
            bwd(head.backward(dlogits, head_cache), cache, lora_1, lora_2)
            for module in [lora_1, lora_2, head]:
                module.update(lr)
            losses += [loss]
        return list(map(float, losses))

    def train_generator(X, y, net, lora_1, lora_2, head, epochs=300, lr=0.3):
        def epoch():
            out, cache = fwd(X, net, lora_1, lora_2)
            logits, head_cache = head.forward(out)
            loss, dlogits = bce(logits, y)
            bwd(head.backward(dlogits, head_cache), cache, lora_1, lora_2)
            lora_1.update(lr)
            lora_2.update(lr)
            head.update(lr)
            return loss
        return [epoch() for _ in range(epochs)]

    def train_loss_after_update(X, y, net, lora_1, lora_2, head, epochs=300, lr=0.3):
        losses = []
        for _ in range(epochs):
            out, cache = fwd(X, net, lora_1, lora_2)
            logits, head_cache = head.forward(out)
            _, dlogits = bce(logits, y)
            bwd(head.backward(dlogits, head_cache), cache, lora_1, lora_2)
            for module in (lora_1, lora_2, head):
                module.update(lr)
            losses.append(bce(head.forward(fwd(X, net, lora_1, lora_2)[0])[0], y)[0])
        return losses

    def merge_multi_dot(net, lora_1, lora_2):
        I_M = np.identity(net.W2.shape[1]) + lora_2.get_merged_delta().T
        W2 = np.linalg.multi_dot([net.W2 + lora_1.get_merged_delta().T, I_M])
        return Network(W1=net.W1.copy(), b1=net.b1.copy(), W2=W2, b2=np.dot(net.b2, I_M))

    def merge_copies_then_iadd(net, lora_1, lora_2):
        W2, b2 = net.W2.copy(), net.b2.copy()
        W2 += lora_1.get_merged_delta().T
        M = lora_2.get_merged_delta().T
        W2, b2 = W2 + W2 @ M, b2 + b2 @ M
        return Network(net.W1.copy(), net.b1.copy(), W2, b2)

    def forward_relu_on_h2(X, net, lora_1, lora_2):
        h1 = hidden(X, net)
        d1, c1 = lora_1.forward(h1)
        h2 = np.maximum(h1 @ net.W2 + net.b2 + d1, 0)
        d2, c2 = lora_2.forward(h2)
        return h2 + d2, (c1, c2)

    def forward_delta1_twice(X, net, lora_1, lora_2):
        h1 = hidden(X, net)
        d1, c1 = lora_1.forward(h1)
        h2 = h1 @ net.W2 + net.b2 + d1
        d2, c2 = lora_2.forward(h2)
        return h2 + d2 + d1, (c1, c2)

    def forward_returns_h1(X, net, lora_1, lora_2):
        h1 = hidden(X, net)
        d1, c1 = lora_1.forward(h1)
        h2 = h1 @ net.W2 + net.b2 + d1
        return h1, (c1, lora_2.forward(h2)[1])

    def backward_named_steps(grad_out, cache, lora_1, lora_2):
        via_lora_2 = lora_2.backward(grad_out, cache[1])
        g = np.add(grad_out, via_lora_2)
        lora_1.backward(g, cache[0])
        return g

    def backward_multiplies(grad_out, cache, lora_1, lora_2):
        g = grad_out * lora_2.backward(grad_out, cache[1])
        lora_1.backward(g, cache[0])
        return g

    def backward_returns_grad_h1(grad_out, cache, lora_1, lora_2):
        g = grad_out + lora_2.backward(grad_out, cache[1])
        return lora_1.backward(g, cache[0])

    def train_while(X, y, net, lora_1, lora_2, head, epochs=300, lr=0.3):
        losses, e = np.zeros(epochs), 0
        while e < epochs:
            out, cache = fwd(X, net, lora_1, lora_2)
            logits, head_cache = head.forward(out)
            loss, dlogits = bce(logits, y)
            bwd(head.backward(dlogits, head_cache), cache, lora_1, lora_2)
            for module in (head, lora_2, lora_1):
                module.update(lr)
            losses[e], e = float(loss), e + 1
        return losses

    def train_update_first(X, y, net, lora_1, lora_2, head, epochs=300, lr=0.3):
        losses = []
        for _ in range(epochs):
            out, cache = fwd(X, net, lora_1, lora_2)
            logits, head_cache = head.forward(out)
            loss, dlogits = bce(logits, y)
            for module in (lora_1, lora_2, head):
                module.update(lr)
            bwd(head.backward(dlogits, head_cache), cache, lora_1, lora_2)
            losses.append(loss)
        return losses

    def train_fixed_lr(X, y, net, lora_1, lora_2, head, epochs=300, lr=0.3):
        losses = []
        for _ in range(epochs):
            out, cache = fwd(X, net, lora_1, lora_2)
            logits, head_cache = head.forward(out)
            loss, dlogits = bce(logits, y)
            bwd(head.backward(dlogits, head_cache), cache, lora_1, lora_2)
            for module in (lora_1, lora_2, head):
                module.update(0.3)
            losses.append(loss)
        return losses

    def merge_einsum(net, lora_1, lora_2):
        M = lora_2.get_merged_delta().T
        W2 = net.W2 + lora_1.get_merged_delta().T
        return Network(net.W1.copy(), net.b1.copy(), W2 + np.einsum("fd,de->fe", W2, M), net.b2 + net.b2 @ M)

    def merge_M_untransposed(net, lora_1, lora_2):
        M = lora_2.get_merged_delta()
        W2 = net.W2 + lora_1.get_merged_delta().T
        return Network(net.W1.copy(), net.b1.copy(), W2 + W2 @ M, net.b2 + net.b2 @ M)

    def merge_order(net, lora_1, lora_2):
        I_M = np.eye(net.W2.shape[1]) + lora_2.get_merged_delta().T
        return Network(net.W1.copy(), net.b1.copy(), net.W2 @ I_M + lora_1.get_merged_delta().T, net.b2 @ I_M)

    def merge_returns_net(net, lora_1, lora_2):
        I_M = np.eye(net.W2.shape[1]) + lora_2.get_merged_delta().T
        net.W2 = (net.W2 + lora_1.get_merged_delta().T) @ I_M
        net.b2 = net.b2 @ I_M
        return net

    right = [Right("05", check, "einsum, a cache dict, updates that build new arrays", {"LoRA": EinsumLoRA})
             for check in ("lora_init", "lora_forward", "lora_backward", "lora_update", "merged_delta")]
    right += [
        Right("05", "lora_forward", "forward through the merged delta", {"LoRA": MergedLoRA}),
        Right("05", "lora_backward", "backward with z recomputed", {"LoRA": MergedLoRA}),
        *(Right("05", check, "np.dot, a list cache, np.subtract(..., out=self.A) on its own factors",
                {"LoRA": ListCacheLoRA}) for check in ("lora_forward", "lora_backward", "lora_update")),
        Right("05", "adapted_forward", "h1.dot(W2), a cache of four", {"adapted_forward": forward_wide_cache}),
        Right("05", "adapted_forward", "relu as pre * (pre > 0), type hints, a keyword-only flag",
              {"adapted_forward": forward_named}),
        Right("05", "exact_backprop", "a cache of four, grad_out.copy() then +=",
              {"adapted_forward": forward_wide_cache, "adapted_backward": backward_wide_cache}),
        Right("05", "exact_backprop", "sum([...])", {"adapted_backward": backward_sum}),
        Right("05", "train_step", "losses += [loss], map(float, ...)", {"train_task": train_map_floats}),
        Right("05", "train_step", "an inner function per epoch and a comprehension", {"train_task": train_generator}),
        Right("05", "merge_equivalence", "np.linalg.multi_dot, keyword arguments", {"merge_network": merge_multi_dot}),
        Right("05", "merge_equivalence", "copies, += on the copy", {"merge_network": merge_copies_then_iadd}),
        Right("05", "adapted_forward", "an explicit relu, a list, a print", {"adapted_forward": forward_explicit_relu}),
        Right("05", "exact_backprop", "named steps and np.add", {"adapted_backward": backward_named_steps}),
        Right("05", "train_step", "a while loop, the head updated first, an array of losses",
              {"train_task": train_while}),
        Right("05", "merge_equivalence", "einsum and b2 + b2 M", {"merge_network": merge_einsum}),
    ]
    wrong = [
        ("05", "lora_init", "scale = alpha // r", "LoRA", FloorLoRA, "floor division"),
        ("05", "lora_init", "shapes typed in", "LoRA", FixedShapes, "expected shape"),
        ("05", "lora_update", "only A updated", "LoRA", UpdatesOnlyA, "B -= lr * dB"),
        ("05", "lora_forward", "forward returns (cache, delta)", "LoRA", CacheFirst, "returns (cache, result)"),
        ("05", "lora_backward", "backward returns nothing", "LoRA", BackwardReturnsNothing, "returns nothing"),
        ("05", "adapted_forward", "a relu on h2", "adapted_forward", forward_relu_on_h2, "no relu after W2"),
        ("05", "adapted_forward", "lora_1's delta added twice", "adapted_forward", forward_delta1_twice,
         "once more"),
        ("05", "exact_backprop", "adapted_forward returns h1 (n, d_ff), not out", "adapted_forward",
         forward_returns_h1, "expected (n, d)"),
        ("05", "exact_backprop", "lora_1.backward never called", "adapted_backward", backward_no_lora_1, "dA1"),
        ("05", "train_step", "the loss recorded after the update", "train_task", train_loss_after_update,
         "loss before the update"),
        ("05", "exact_backprop", "the two paths multiplied", "adapted_backward", backward_multiplies, "grad_out +"),
        ("05", "exact_backprop", "returns the gradient wrt h1", "adapted_backward", backward_returns_grad_h1,
         "expected shape"),
        ("05", "train_step", "updates before the backward pass", "train_task", train_update_first,
         "before the backward pass"),
        ("05", "train_step", "lr typed in (0.3)", "train_task", train_fixed_lr, "the lr argument"),
        ("05", "merge_equivalence", "lora_2's M not transposed", "merge_network", merge_M_untransposed,
         "differs from the adapted one"),
        ("05", "merge_equivalence", "(I + M) before lora_1 is added", "merge_network", merge_order,
         "differs from the adapted one"),
        ("05", "merge_equivalence", "the frozen network merged in place", "merge_network", merge_returns_net,
         "changed the frozen"),
    ]
    return right, wrong
