"""Typical mistakes in every implement-it task of lessons 01-05, each run through the real check.

``catalogue()`` lists (lesson, task, mistake, namespace, words): the solution's functions with the task's function
replaced by the mistaken one, and words the feedback must contain to name that mistake. The maths mistakes of
lessons 01-04 are those of ``tests/test_tasks_lessonNN.py``; the failures before the maths (nothing returned, a list,
a ragged array, a wrong number of values, the order of the values, an error in the student's own line) are added
here for every task, and lesson 05's mistakes are written here. ``tests/test_mistake_table.py`` asserts that each
fails and names its mistake; ``benchmarks/mistake_table.py`` prints the table into ``docs/mistakes.md``.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat
import numpy as np
import test_tasks_lesson01 as T1
import test_tasks_lesson02 as T2
import test_tasks_lesson03 as T3
import test_tasks_lesson04 as T4
from student_walk import Right, right, wrong
from task_helpers import task_functions

from lora_course.feedback.outcomes import Check, evaluate, guard
from lora_course.feedback.project import checks as project
from lora_course.feedback.tasks import lesson01, lesson02, lesson03, lesson04

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mistake:
    lesson: str
    task: str          # the check that judges it
    label: str
    replaces: str      # the student's name the mistake replaces
    fn: object
    words: str         # what the feedback must say (case-insensitive)


# ----------------------------------------------------------------------------- failures before the maths

def forgot_return(fn):
    def f(*args, **kwargs):
        fn(*args, **kwargs)                     # the result is computed, and dropped
    return f


def as_lists(fn):
    def f(*args, **kwargs):
        result = fn(*args, **kwargs)
        if isinstance(result, tuple):
            return tuple(np.asarray(v).tolist() if isinstance(v, np.ndarray) else v for v in result)
        return np.asarray(result).tolist()
    return f


def ragged(fn):
    def f(*args, **kwargs):
        result = fn(*args, **kwargs)
        rows = [np.asarray(row) for row in np.atleast_2d(result[0] if isinstance(result, tuple) else result)]
        rows[-1] = rows[-1][:-1]                # the last row one entry short
        out = np.empty(len(rows), dtype=object)
        out[:] = rows
        return (out, *result[1:]) if isinstance(result, tuple) else out
    return f


def one_value_short(fn):
    def f(*args, **kwargs):
        return fn(*args, **kwargs)[:-1]
    return f


def last_two_swapped(fn):
    def f(*args, **kwargs):
        result = fn(*args, **kwargs)
        return (*result[:-2], result[-1], result[-2])
    return f


def shape_error(*args, **kwargs):
    W = np.ones((3, 4))
    return W @ W                                # (3, 4) @ (3, 4): the transpose is missing


def never_returns(*args, **kwargs):
    total = 0
    while total >= 0:                           # the condition never changes
        total += 1
    return total


def _before_maths(lesson: str, task: str, name: str, fn, tuple_of: int = 0, loop: bool = False) -> list[Mistake]:
    out = [Mistake(lesson, task, "forgot `return`", name, forgot_return(fn), "returns nothing"),
           Mistake(lesson, task, "an error in the student's own line (a missing transpose)", name, shape_error,
                   "line"),
           Mistake(lesson, task, "returns Python lists", name, as_lists(fn), "not a numpy array"),
           Mistake(lesson, task, "a ragged array (rows of different lengths)", name, ragged(fn), "dtype object")]
    if tuple_of:
        out.append(Mistake(lesson, task, "one value too few in the returned tuple", name, one_value_short(fn),
                           f"should return {tuple_of}"))
    if loop:
        out.append(Mistake(lesson, task, "a loop that never ends", name, never_returns, "did not return within"))
    return out


def _from_table(lesson: str, task: str, name: str, table: dict) -> list[Mistake]:
    return [Mistake(lesson, task, label.replace("_", " "), name, fn, words) for label, (fn, words) in table.items()]


# ------------------------------------------------------------------------------------------- lessons 01-04

MODULES = {"01": lesson01, "02": lesson02, "03": lesson03, "04": lesson04}
NOTEBOOKS = {"01": T1.NB, "02": T2.NB, "03": "03_targets_and_rank.ipynb", "04": "04_merging_and_deployment.ipynb"}


def _lesson01(sol: dict) -> list[Mistake]:
    svd, factor, errors = sol["svd_by_eig"], sol["factor_rank_r"], sol["rank_r_errors"]
    return (_before_maths("01", "svd", "svd_by_eig", svd, tuple_of=3)
            + _from_table("01", "svd", "svd_by_eig", T1.SVD_MISTAKES)
            + [Mistake("01", "svd", "np.linalg.eig on M^T M (complex results)", "svd_by_eig",
                       lambda M: tuple(v.astype(complex) for v in svd(M)), "complex")]
            + _before_maths("01", "factor", "factor_rank_r", factor, tuple_of=2)
            + _from_table("01", "factor", "factor_rank_r", T1.FACTOR_MISTAKES)
            + _before_maths("01", "errors", "rank_r_errors", errors, loop=True)
            + _from_table("01", "errors", "rank_r_errors", T1.ERROR_MISTAKES)
            + [Mistake("01", "errors", "squares s in place (s **= 2)", "rank_r_errors", _squares_in_place(errors),
                       "never write into it")])


def _squares_in_place(errors):
    def rank_r_errors(s):
        out = errors(s.copy())
        s **= 2
        return out
    return rank_r_errors


def _lesson02(sol: dict) -> list[Mistake]:
    init, fwd, bwd, num = (sol[k] for k in ("init_lora_factors", "lora_layer_forward", "lora_layer_backward",
                                            "numerical_gradient"))

    def r_from_k(X, W0, A, B, alpha):
        H, cache = fwd(X, W0, A, B, alpha * A.shape[0] / A.shape[1])
        return H, cache

    def nudges_a_copy(f, x, h=1e-5):
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            z = x.copy()
            z[i] += h                            # f() reads x, not z
            grad[i] = (f() - f()) / (2 * h)
        return grad

    return (_before_maths("02", "init", "init_lora_factors", init, tuple_of=2)
            + _from_table("02", "init", "init_lora_factors", T2.INIT_MISTAKES)
            + _before_maths("02", "forward", "lora_layer_forward", fwd, tuple_of=2)
            + _from_table("02", "forward", "lora_layer_forward", T2.FORWARD_MISTAKES)
            + [Mistake("02", "forward", "r read from A.shape[1] (that is k)", "lora_layer_forward", r_from_k,
                       "A.shape[1] = k")]
            + _before_maths("02", "backward", "lora_layer_backward", bwd, tuple_of=3)
            + _from_table("02", "backward", "lora_layer_backward", T2.BACKWARD_MISTAKES)
            + [Mistake("02", "backward", "returns (dA, dB, dX)", "lora_layer_backward",
                       lambda G, cache: (lambda dX, dA, dB: (dA, dB, dX))(*bwd(G, cache)), "order (dA, dB, dX)"),
               Mistake("02", "backward", "returns (dX, dB, dA)", "lora_layer_backward", last_two_swapped(bwd),
                       "order (dX, dB, dA)")]
            + _before_maths("02", "numerical_gradient", "numerical_gradient", num, loop=True)
            + [Mistake("02", "numerical_gradient", k.replace("_", " "), "numerical_gradient", T2._numerical(k), w)
               for k, w in T2.NUMERICAL_MISTAKES.items()]
            + [Mistake("02", "numerical_gradient", "nudges a copy of x", "numerical_gradient", nudges_a_copy,
                       "nudging a copy")])


def _lesson03(sol: dict) -> list[Mistake]:
    qkv, phi = sol["adapted_qkv"], sol["subspace_similarity_phi"]

    def phi_none(A1, A2, i, j):
        phi(A1, A2, i, j)

    def phi_array(A1, A2, i, j):
        return np.array([phi(A1, A2, i, j)] * 2)

    return (_before_maths("03", "adapted_qkv", "adapted_qkv", qkv, tuple_of=3)
            + _from_table("03", "adapted_qkv", "adapted_qkv", T3.QKV_MISTAKES)
            + [Mistake("03", "phi", "forgot `return`", "subspace_similarity_phi", phi_none, "returns nothing"),
               Mistake("03", "phi", "returns an array, not one number", "subspace_similarity_phi", phi_array,
                       "not one number"),
               Mistake("03", "phi", "an error in the student's own line", "subspace_similarity_phi", shape_error,
                       "line")]
            + _from_table("03", "phi", "subspace_similarity_phi", T3.PHI_MISTAKES))


def _lesson04(sol: dict) -> list[Mistake]:
    out = []
    for task, name in (("merge", "merge_weight"), ("unmerge", "unmerge_weight"), ("switch", "switch_weight"),
                       ("gathered", "gathered_forward")):
        out += _before_maths("04", task, name, sol[name], loop=task == "gathered")
        out += [Mistake("04", task, label.replace("_", " "), fn_name, fn, words)
                for (t, label), (fn_name, fn, words) in T4.MISTAKES.items() if t == task]
    solution = sol["gathered_forward"]

    def transposed_update(W, A, B, scale):
        return W - scale * A.T @ B.T

    out.append(Mistake("04", "unmerge", "the update transposed (A^T B^T)", "unmerge_weight", transposed_update,
                       "do not fit"))

    def rows_loop_list(W0, A_stack, B_stack, scales, X, ids):
        return [solution(W0, A_stack, B_stack, scales, X[i:i + 1], ids[i:i + 1])[0] for i in range(len(X))]

    def rows_loop(W0, A_stack, B_stack, scales, X, ids):
        H = np.zeros((X.shape[0], W0.shape[0]))
        for i in range(X.shape[0]):
            t = ids[i]
            H[i] = W0 @ X[i] + scales[t] * B_stack[t] @ (A_stack[t] @ X[i])
        return H

    def tasks_loop(W0, A_stack, B_stack, scales, X, ids):
        H = X @ W0.T
        for t in np.unique(ids):
            rows = ids == t
            H[rows] += scales[t] * X[rows] @ A_stack[t].T @ B_stack[t].T
        return H

    def helper_loop(W0, A_stack, B_stack, scales, X, ids):
        return np.stack(_per_row(W0, A_stack, B_stack, scales, X, ids))

    global _per_row

    def _per_row(W0, A_stack, B_stack, scales, X, ids):
        return list(map(lambda x, t: W0 @ x + scales[t] * B_stack[t] @ (A_stack[t] @ x), X, ids))

    return out + [
        Mistake("04", "gathered", "a loop over rows returning a list", "gathered_forward", rows_loop_list,
                "not a numpy array"),
        Mistake("04", "gathered", "a loop over rows (right values)", "gathered_forward", rows_loop, "for loop"),
        Mistake("04", "gathered", "a loop over tasks with masks (right values)", "gathered_forward", tasks_loop,
                "for loop"),
        Mistake("04", "gathered", "map over rows in a helper function (right values)", "gathered_forward",
                helper_loop, "map(...)"),
    ]


# ------------------------------------------------------------------------------------------------ lesson 05

def lesson05_solution() -> dict:
    """The imports, constants, functions and classes of the lesson 05 solution's code cells."""
    namespace: dict = {}
    for cell in nbformat.read(ROOT / "solutions" / "05_project.ipynb", as_version=4).cells:
        if cell.cell_type != "code" or cell.source.startswith("%%"):
            continue
        tree = ast.parse("\n".join(line for line in cell.source.splitlines() if not line.startswith("%")))
        keep = [node for node in tree.body
                if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))
                or (isinstance(node, ast.Assign) and isinstance(node.value, (ast.Constant, ast.Tuple))
                    and all(isinstance(e, ast.Constant) for e in getattr(node.value, "elts", [node.value])))]
        exec(compile(ast.Module(body=keep, type_ignores=[]), "05_project.ipynb", "exec"), namespace)  # noqa: S102
    return namespace


def _lora(sol: dict, **methods) -> type:
    return type("LoRA", (sol["LoRA"],), methods)


def _sharing(train):
    shared: dict = {}

    def sharing_train(X, y, net, lora_1, lora_2, head, epochs=300, lr=0.3):
        return train(X, y, net, shared.setdefault("lora_1", lora_1), lora_2, head, epochs=epochs, lr=lr)
    return sharing_train


def _lesson05(sol: dict) -> list[Mistake]:
    base = sol["LoRA"]

    def init_with(**changes):
        def __init__(self, k, d, rank, **options):
            base.__init__(self, k, d, rank, **options)
            for key, value in changes.items():
                setattr(self, key, value(self, k, d, rank, options.get("alpha"), options.get("init_scale", 0.01),
                                         options.get("rng")))
        return __init__

    def backward_with(factor_dA=1.0, transpose=False, store=True, n_divide=False):
        def backward(self, grad_output, cache):
            dX = base.backward(self, grad_output, cache)
            if n_divide:
                self.dA, self.dB = self.dA / len(grad_output), self.dB / len(grad_output)
            self.dA = self.dA * factor_dA
            if transpose:
                self.dB = self.dB.T.copy()
            if not store:
                del self.dA
            return dX
        return backward

    def forward_no_cache(self, x):
        return base.forward(self, x)[0]

    def forward_none(self, x):
        base.forward(self, x)

    def ascent(self, lr):
        for name in ("A", "B"):
            setattr(self, name, getattr(self, name) + lr * getattr(self, "d" + name))      # up the gradient

    def delta_none(self):
        base.get_merged_delta(self)

    def delta_unscaled(self):
        return self.B @ self.A

    L = "05"
    lora = [
        Mistake(L, "lora_init", "B drawn at random instead of zeros", "LoRA",
                _lora(sol, __init__=init_with(B=lambda s, *a: a[5].normal(0, 0.05, s.B.shape))), "B is not zero"),
        Mistake(L, "lora_init", "scale = alpha (not alpha / r)", "LoRA",
                _lora(sol, __init__=init_with(scale=lambda s, d_in, d_out, r, alpha, *a: float(alpha or r))),
                "alpha / r"),
        Mistake(L, "lora_init", "A drawn from a generator of its own", "LoRA",
                _lora(sol, __init__=init_with(A=lambda s, *a: np.random.default_rng().normal(0, a[4], s.A.shape))),
                "rng"),
        Mistake(L, "lora_forward", "forward returns only delta (no cache)", "LoRA",
                _lora(sol, forward=forward_no_cache), "should return 2 values"),
        Mistake(L, "lora_forward", "forward forgot `return`", "LoRA", _lora(sol, forward=forward_none),
                "returns nothing"),
        Mistake(L, "lora_backward", "dA and dB divided by the batch size", "LoRA",
                _lora(sol, backward=backward_with(n_divide=True)), "batch size"),
        Mistake(L, "lora_backward", "dB stored transposed", "LoRA", _lora(sol, backward=backward_with(transpose=True)),
                "transpos"),
        Mistake(L, "lora_backward", "dA never stored", "LoRA", _lora(sol, backward=backward_with(store=False)),
                "has no dA"),
        Mistake(L, "lora_update", "gradient ascent (A += lr dA)", "LoRA", _lora(sol, update=ascent),
                "up the gradient"),
        Mistake(L, "merged_delta", "get_merged_delta forgot `return`", "LoRA", _lora(sol, get_merged_delta=delta_none),
                "returns nothing"),
        Mistake(L, "merged_delta", "the scale is missing from B A", "LoRA", _lora(sol, get_merged_delta=delta_unscaled),
                "scale"),
    ]
    fwd, bwd, train, merge = (sol[k] for k in ("adapted_forward", "adapted_backward", "train_task", "merge_network"))

    def skip_path_dropped(grad_out, cache, lora_1, lora_2):
        cache1, cache2 = cache
        grad_h2 = lora_2.backward(grad_out, cache2)             # the skip path's grad_out is missing
        lora_1.backward(grad_h2, cache1)
        return grad_h2

    def branch_dropped(grad_out, cache, lora_1, lora_2):
        cache1, cache2 = cache
        lora_2.backward(grad_out, cache2)
        lora_1.backward(grad_out, cache1)                       # lora_2's branch is missing from grad_h2
        return grad_out

    def train_none(*args, **kwargs):
        train(*args, **kwargs)

    def train_ignores_lr(X, y, net, l1, l2, head, epochs=300, lr=0.3):
        return train(X, y, net, l1, l2, head, epochs=epochs, lr=0.05)        # a learning rate of its own

    def merge_none(net, lora_1, lora_2):
        merge(net, lora_1, lora_2)

    hidden, FrozenNetwork, Head = sol["hidden"], sol["FrozenNetwork"], sol["ClassificationHead"]

    def lora_2_on_frozen_h2(X, net, lora_1, lora_2):
        h1 = hidden(X, net)
        frozen_h2 = h1 @ net.W2 + net.b2
        return frozen_h2 + lora_1.forward(h1)[0] + lora_2.forward(frozen_h2)[0], None

    def no_b2(X, net, lora_1, lora_2):
        h1 = hidden(X, net)
        h2 = h1 @ net.W2 + lora_1.forward(h1)[0]
        return h2 + lora_2.forward(h2)[0], None

    def no_lora_2(X, net, lora_1, lora_2):
        h1 = hidden(X, net)
        h2 = h1 @ net.W2 + net.b2 + lora_1.forward(h1)[0]
        return h2, None

    def lora_1_on_X(X, net, lora_1, lora_2):
        h2 = hidden(X, net) @ net.W2 + net.b2 + lora_1.forward(X)[0]
        return h2 + lora_2.forward(h2)[0], None

    def lora_1_on_simple_gradient(grad_out, cache, lora_1, lora_2):
        cache1, cache2 = cache
        grad_h2 = grad_out + lora_2.backward(grad_out, cache2)
        lora_1.backward(grad_out, cache1)                      # the path through lora_2 is ignored
        return grad_h2

    def returns_with_dA(grad_out, cache, lora_1, lora_2):
        return bwd(grad_out, cache, lora_1, lora_2), lora_1.dA

    def writes_frozen(X, y, net, l1, l2, head, epochs=300, lr=0.3):
        losses = train(X, y, net, l1, l2, head, epochs=epochs, lr=lr)
        net.W2 -= 1e-6 * np.sign(net.W2)
        return losses

    def head_not_trained(X, y, net, l1, l2, head, epochs=300, lr=0.3):
        frozen_head = Head(head.W.shape[0], np.random.default_rng(0))
        frozen_head.W, frozen_head.b = head.W.copy(), head.b.copy()
        return train(X, y, net, l1, l2, frozen_head, epochs=epochs, lr=lr)

    def epochs_ignored(X, y, net, l1, l2, head, epochs=300, lr=0.3):
        return train(X, y, net, l1, l2, head, epochs=3, lr=lr)

    def last_loss_only(X, y, net, l1, l2, head, epochs=300, lr=0.3):
        return train(X, y, net, l1, l2, head, epochs=epochs, lr=lr)[-1]

    def without_bias(net, lora_1, lora_2):
        merged = merge(net, lora_1, lora_2)
        return FrozenNetwork(merged.W1, merged.b1, merged.W2, net.b2.copy())

    def only_lora_1(net, lora_1, lora_2):
        return FrozenNetwork(net.W1.copy(), net.b1.copy(), net.W2 + lora_1.get_merged_delta().T, net.b2.copy())

    def in_place(net, lora_1, lora_2):
        merged = merge(net, lora_1, lora_2)
        net.W2 += 1e-3
        return merged

    def untransposed(net, lora_1, lora_2):
        return FrozenNetwork(net.W1.copy(), net.b1.copy(), net.W2 + lora_1.get_merged_delta(), net.b2.copy())

    def arrays_not_network(net, lora_1, lora_2):
        merged = merge(net, lora_1, lora_2)
        return merged.W2, merged.b2

    network = [
        Mistake(L, "adapted_forward", "lora_2 reads the frozen h2 (before lora_1's delta)", "adapted_forward",
                lora_2_on_frozen_h2, "after lora_1's delta"),
        Mistake(L, "adapted_forward", "the bias b2 forgotten", "adapted_forward", no_b2, "b2"),
        Mistake(L, "adapted_forward", "lora_2's delta missing from out", "adapted_forward", no_lora_2, "lora_2"),
        Mistake(L, "adapted_forward", "lora_1 reads X instead of h1", "adapted_forward", lora_1_on_X, "line"),
        Mistake(L, "exact_backprop", "lora_1 gets grad_out, not the gradient wrt h2", "adapted_backward",
                lora_1_on_simple_gradient, "path through lora_2"),
        Mistake(L, "exact_backprop", "returns (grad_h2, dA), two values", "adapted_backward", returns_with_dA,
                "not a numpy array"),
        Mistake(L, "exact_backprop", "returns Python lists", "adapted_backward", as_lists(bwd), "not a numpy array"),
        Mistake(L, "frozen_unchanged", "train_task writes to the frozen W2", "train_task", writes_frozen,
                "never write"),
        Mistake(L, "train_step", "the head is never updated", "train_task", head_not_trained, "head"),
        Mistake(L, "accuracy_task_a", "train_task ignores epochs", "train_task", epochs_ignored, "epochs"),
        Mistake(L, "train_step", "returns the last loss only (a float)", "train_task", last_loss_only,
                "not a list of numbers"),
        Mistake(L, "exact_backprop", "a ragged array", "adapted_backward", ragged(bwd), "dtype object"),
        Mistake(L, "no_interference", "the first task's lora_1 reused for every task", "train_task",
                _sharing(train), "task A's"),
        Mistake(L, "merge_equivalence", "the bias b2 not merged", "merge_network", without_bias, "b2' = b2 (I + M)"),
        Mistake(L, "merge_equivalence", "only lora_1 merged", "merge_network", only_lora_1,
                "lora_2 is not folded in"),
        Mistake(L, "merge_equivalence", "writes into the frozen W2", "merge_network", in_place, "changed the frozen"),
        Mistake(L, "merge_equivalence", "lora_1's delta not transposed to W2's (d_ff, d)", "merge_network",
                untransposed, "do not fit"),
        Mistake(L, "merge_equivalence", "returns (W2, b2), not a FrozenNetwork", "merge_network", arrays_not_network,
                "no array"),
        Mistake(L, "merge_equivalence", "returns Python lists", "merge_network", lambda *a: [1.0, 2.0], "no array"),

        Mistake(L, "adapted_forward", "adapted_forward forgot `return`", "adapted_forward", forgot_return(fwd),
                "returns nothing"),
        Mistake(L, "adapted_forward", "returns out alone (no cache)", "adapted_forward",
                lambda *a: fwd(*a)[0], "should return 2 values"),
        Mistake(L, "adapted_forward", "an error in the student's own line", "adapted_forward", shape_error, "line"),
        Mistake(L, "adapted_forward", "returns Python lists", "adapted_forward", as_lists(fwd), "not a numpy array"),
        Mistake(L, "exact_backprop", "adapted_backward forgot `return`", "adapted_backward", forgot_return(bwd),
                "returns nothing"),
        Mistake(L, "exact_backprop", "the skip path dropped from the gradient wrt h2", "adapted_backward",
                skip_path_dropped, "skip"),
        Mistake(L, "exact_backprop", "lora_2's branch dropped from the gradient wrt h2", "adapted_backward",
                branch_dropped, "lora_2"),
        Mistake(L, "exact_backprop", "an error in the student's own line", "adapted_backward", shape_error, "line"),
        Mistake(L, "train_step", "train_task forgot `return` (no losses)", "train_task", train_none,
                "returns nothing"),
        Mistake(L, "train_step", "train_task ignores lr", "train_task", train_ignores_lr, "the lr argument"),
        Mistake(L, "train_step", "a loop that never ends", "train_task", never_returns, "did not return within"),
        Mistake(L, "merge_equivalence", "merge_network forgot `return`", "merge_network", merge_none,
                "returns nothing"),
        Mistake(L, "merge_equivalence", "an error in the student's own line", "merge_network", shape_error, "line"),
    ]
    return lora + network


# -------------------------------------------------------------------------------------------------- all

@functools.cache
def catalogue() -> tuple[Mistake, ...]:
    """Every mistake of lessons 01-05 (a new student's own, from ``tests/student_walk.py``, included), grouped by
    task in lesson order."""
    out = []
    for lesson, build in (("01", _lesson01), ("02", _lesson02), ("03", _lesson03), ("04", _lesson04)):
        out += build(task_functions(NOTEBOOKS[lesson]))
    out += _lesson05(lesson05_solution()) + [Mistake(*row) for row in wrong(solutions())]
    first: dict = {}
    for m in out:
        first.setdefault((m.lesson, m.task), len(first))
    return tuple(sorted(out, key=lambda m: first[(m.lesson, m.task)]))


@functools.cache
def right_answers() -> tuple[Right, ...]:
    """Right answers of lessons 01-05 written in unusual ways (``tests/student_walk.py``): each must pass."""
    return tuple(right(solutions()))


def run_right(answer: Right, seed: int = 0):
    """The Outcome the real check gives a right answer."""
    namespace = {**solutions()[answer.lesson], **answer.replaces}
    if answer.lesson == "05":
        return project.evaluate(answer.task, namespace, seed)
    module = MODULES[answer.lesson]
    return evaluate(module.CHECKS, module.make_inputs, answer.task, namespace, seed)


@functools.cache
def solutions() -> dict[str, dict]:
    out = {lesson: task_functions(nb) for lesson, nb in NOTEBOOKS.items()}
    out["05"] = lesson05_solution()
    return out


# A loop that never ends is stopped at whatever limit its check has: these rows give the check 1 s of CPU time
# instead of the lessons' 5 s (the same guard, message and hint; 4 s less of a spinning loop per row).
LOOP_LIMIT_S = 1.0


def with_limit(checks: dict[str, Check], name: str, seconds: float) -> dict[str, Check]:
    """``checks`` with check ``name`` guarded by a CPU-time limit of ``seconds`` instead of its own."""
    check = checks[name]
    return {**checks, name: guard(replace(check, collect=check.collect.__wrapped__, time_limit=seconds))}


def run(mistake: Mistake):
    """The Outcome the real check gives ``mistake`` (seed 0)."""
    namespace = {**solutions()[mistake.lesson], mistake.replaces: mistake.fn}
    module = project if mistake.lesson == "05" else MODULES[mistake.lesson]
    checks = with_limit(module.CHECKS, mistake.task, LOOP_LIMIT_S) if mistake.fn is never_returns else module.CHECKS
    if mistake.lesson == "05":
        return evaluate(checks, project.make_inputs, mistake.task, namespace, 0, project.FILL_HINT, project.SHAPES_HINT)
    return evaluate(checks, module.make_inputs, mistake.task, namespace, 0)
