"""Checks of lesson 04's implement-it tasks: merge and unmerge, the one-step switch, the gathered forward.

The student writes (names in the notebook; W0, W: (d, k), A: (r, k), B: (d, r)):

    merge_weight(W0, A, B, scale) -> W          W = W0 + scale B A, a new array (W0 is frozen)
    unmerge_weight(W, A, B, scale) -> W0        W0 = W - scale B A
    switch_weight(W, old, new) -> W'            W' = W + s_new B_new A_new - s_old B_old A_old; old, new = (A, B, scale)
    gathered_forward(W0, A_stack, B_stack, scales, X, ids) -> H
        A_stack (n_tasks, r, k), B_stack (n_tasks, d, r), scales (n_tasks,), X (n, k), ids (n,) ints:
        row i of H is W0 x_i + scales[ids[i]] B_stack[ids[i]] A_stack[ids[i]] x_i
"""

from __future__ import annotations

import numpy as np

from lora_course.feedback.tasks.common import (
    Check,
    Outcome,
    array,
    call,
    check_seed,
    check_table,
    fail,
    floats,
    get,
    lesson_runners,
    loops,
    out,
    same,
    unchanged,
    with_second,
)
from lora_course.merge import Adapter, merge, switch, unmerge
from lora_course.multi_lora import gathered

IN_PLACE_HINT = "build a new array (W0 + ...) instead of writing into the argument (no +=, -= or out=)"


def make_inputs(seed: int) -> dict:
    """Inputs of the checks, drawn from ``seed``: d = 5, k = 7, r = 2; three served adapters for eleven rows
    (d, k, r, the number of tasks and of rows all differ, none another's product); and a second set of other
    sizes and scales (d = 6, k = 4, r = 3, four adapters for nine rows)."""
    rng = np.random.default_rng([check_seed(seed), 4])
    d, k, r, n_tasks, n = 5, 7, 2, 3, 11
    perm = rng.permutation(n_tasks)
    if np.array_equal(perm, np.arange(n_tasks)):
        perm = np.roll(perm, 1)                    # ids must differ from "row i uses adapter i"
    ids = np.concatenate([perm, perm[[1, 2, 0]], perm, perm[[2, 0]]])  # every task present, not all rows alike
    first = {"seed": int(seed), **_draw(rng, (d, k, r, n_tasks, n), (1.5, 2.5, 0.5), np.array([0.5, 2.5, 4.0]), ids)}
    second = _draw(rng, (6, 4, 3, 4, 9), (0.75, 1.25, 3.0), np.array([3.0, 0.25, 1.5, 2.0]), _ids(rng, 4, 9))
    return with_second(first, second, "d = 6, k = 4, r = 3, scales 0.75 (merge), 1.25 and 3.0 (switch); four "
                                      "adapters for nine rows")


def _ids(rng: np.random.Generator, n_tasks: int, n: int) -> np.ndarray:
    """n task ids with every task present, not all alike and never "row i uses adapter i % n_tasks"."""
    ids = rng.permutation(np.resize(np.arange(n_tasks), n))
    while np.array_equal(ids, np.arange(n) % n_tasks) or ids[0] == ids[1]:
        ids = np.roll(ids, 1)
    return ids


def _draw(rng: np.random.Generator, sizes: tuple[int, int, int, int, int], scales: tuple[float, float, float],
          stacked: np.ndarray, ids: np.ndarray) -> dict:
    d, k, r, n_tasks, n = sizes
    return {"scale": scales[0],
            "W0": rng.normal(size=(d, k)), "A": rng.normal(size=(r, k)), "B": rng.normal(size=(d, r)),
            "W": rng.normal(size=(d, k)),
            "A_old": rng.normal(size=(r, k)), "B_old": rng.normal(size=(d, r)), "scale_old": scales[1],
            "A_new": rng.normal(size=(r, k)), "B_new": rng.normal(size=(d, r)), "scale_new": scales[2],
            "A_stack": rng.normal(size=(n_tasks, r, k)), "B_stack": rng.normal(size=(n_tasks, d, r)),
            "scales": stacked, "X": rng.normal(size=(n, k)), "ids": ids.astype(float)}


# ----------------------------------------------------------------------------- student side (collect)

def _collect_merge(ns: dict, inputs: dict) -> dict:
    W0, A, B = floats(inputs["W0"]), floats(inputs["A"]), floats(inputs["B"])
    W = call("merge_weight", get(ns, "merge_weight"), W0, A, B, float(inputs["scale"]))
    return {"W": out(W, "merge_weight's result"), "W0_after": W0, "A_after": A, "B_after": B}


def _collect_unmerge(ns: dict, inputs: dict) -> dict:
    W, A, B = floats(inputs["W"]), floats(inputs["A"]), floats(inputs["B"])
    W0 = call("unmerge_weight", get(ns, "unmerge_weight"), W, A, B, float(inputs["scale"]))
    return {"W0": out(W0, "unmerge_weight's result"), "W_after": W, "A_after": A, "B_after": B}


def _collect_switch(ns: dict, inputs: dict) -> dict:
    W = floats(inputs["W"])
    old = (floats(inputs["A_old"]), floats(inputs["B_old"]), float(inputs["scale_old"]))
    new = (floats(inputs["A_new"]), floats(inputs["B_new"]), float(inputs["scale_new"]))
    W_new = call("switch_weight", get(ns, "switch_weight"), W, old, new)
    return {"W_new": out(W_new, "switch_weight's result"), "W_after": W}


class _Watched(np.ndarray):
    """An input array that records each time Python code takes a single row out of it or iterates over it
    (a view or a result of it records nothing: only the array handed to the student's function does)."""

    def __iter__(self):
        if getattr(self, "taken", None) is not None:
            self.taken.append("iter")
        return super().__iter__()

    def __getitem__(self, key):
        single = isinstance(key, (int, np.integer)) or (isinstance(key, tuple) and key
                                                        and isinstance(key[0], (int, np.integer)))
        if single and getattr(self, "taken", None) is not None:
            self.taken.append("row")
        return super().__getitem__(key)


def _watched(values: np.ndarray, taken: list) -> _Watched:
    arr = np.array(values).view(_Watched)
    arr.taken = taken
    return arr


def _collect_gathered(ns: dict, inputs: dict) -> dict:
    fn = get(ns, "gathered_forward")
    args = [floats(inputs[key]) for key in ("W0", "A_stack", "B_stack", "scales")]
    taken: list = []
    X, ids = _watched(floats(inputs["X"]), taken), _watched(np.asarray(inputs["ids"]).astype(int), taken)
    H = out(call("gathered_forward", fn, *args, X, ids), "gathered_forward's result")
    rows = taken.count("row") + X.shape[0] * taken.count("iter")
    return {"H": H, "A_stack_after": args[1], "B_stack_after": args[2], "loops": loops(fn, ns),
            "rows_taken_one_by_one": np.array(rows)}


# ---------------------------------------------------------------------------------- grader side (judge)

def _f(inputs: dict, *keys: str) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(inputs[key], float) for key in keys)


def _judge_merge(data: dict, inputs: dict) -> Outcome:
    W0, A, B = _f(inputs, "W0", "A", "B")
    s = float(inputs["scale"])
    unchanged("W0", W0, array(data, "W0_after"), "W0 is frozen: " + IN_PLACE_HINT)
    unchanged("A", A, array(data, "A_after"), IN_PLACE_HINT)
    unchanged("B", B, array(data, "B_after"), IN_PLACE_HINT)
    variants = {"the scale is missing: W = W0 + scale B A": W0 + B @ A,
                "merging adds the update: W = W0 + scale B A, not minus": W0 - s * B @ A,
                "the frozen weight is missing: W = W0 + scale B A": s * B @ A,
                "the scale multiplies the update only: W = W0 + scale B A, not scale (W0 + B A)": s * (W0 + B @ A)}
    same("W", array(data, "W"), merge(W0, Adapter(A, B, s)), "W = W0 + scale * B @ A, shape (d, k)", atol=1e-12,
         variants=variants)
    return Outcome(True, "W = W0 + scale B A, and W0 is untouched")


def _judge_unmerge(data: dict, inputs: dict) -> Outcome:
    W, A, B = _f(inputs, "W", "A", "B")
    s = float(inputs["scale"])
    unchanged("W", W, array(data, "W_after"), IN_PLACE_HINT)
    unchanged("A", A, array(data, "A_after"), IN_PLACE_HINT)
    unchanged("B", B, array(data, "B_after"), IN_PLACE_HINT)
    variants = {"unmerging subtracts the update: W0 = W - scale B A": W + s * B @ A,
                "the scale is missing: W0 = W - scale B A": W - B @ A,
                "multiply the update by the scale, do not divide by it: W0 = W - scale B A": W - B @ A / s}
    same("W0", array(data, "W0"), unmerge(W, Adapter(A, B, s)), "W0 = W - scale * B @ A", atol=1e-12,
         variants=variants)
    return Outcome(True, "W0 = W - scale B A, and W is untouched")


def _judge_switch(data: dict, inputs: dict) -> Outcome:
    W, A1, B1, A2, B2 = _f(inputs, "W", "A_old", "B_old", "A_new", "B_new")
    s1, s2 = float(inputs["scale_old"]), float(inputs["scale_new"])
    unchanged("W", W, array(data, "W_after"), IN_PLACE_HINT)
    old, new = s1 * B1 @ A1, s2 * B2 @ A2
    variants = {
        "the old update must be subtracted, not added: W' = W + new - old": W + new + old,
        "the old task's update is still in W: subtract s_old B_old A_old": W + new,
        "old and new are swapped: add the NEW adapter and subtract the OLD one": W - new + old,
        "each adapter has its own scale: s_new B_new A_new - s_old B_old A_old": W + s1 * (B2 @ A2 - B1 @ A1),
        "each adapter has its own scale: s_new B_new A_new - s_old B_old A_old (you used s_new for both)":
            W + s2 * (B2 @ A2 - B1 @ A1),
        "the scales are crossed: s_new goes with B_new A_new and s_old with B_old A_old":
            W + s1 * B2 @ A2 - s2 * B1 @ A1,
        "you returned the change alone: W' = W + (the change), so add W": new - old,
    }
    want = switch(W, Adapter(A1, B1, s1), Adapter(A2, B2, s2))
    same("W'", array(data, "W_new"), want, "W' = W + s_new B_new A_new - s_old B_old A_old", atol=1e-12,
         variants=variants)
    return Outcome(True, "W' = W + s_new B_new A_new - s_old B_old A_old in one step, W untouched")


def _judge_gathered(data: dict, inputs: dict) -> Outcome:
    W0, A, B, scales, X = _f(inputs, "W0", "A_stack", "B_stack", "scales", "X")
    ids = np.asarray(inputs["ids"]).astype(int)
    unchanged("A_stack", A, array(data, "A_stack_after"), IN_PLACE_HINT)
    unchanged("B_stack", B, array(data, "B_stack_after"), IN_PLACE_HINT)
    frozen = X @ W0.T                                                   # (n, d)

    def rows(task_of_row: np.ndarray, scale_of_row: np.ndarray) -> np.ndarray:
        Z = np.einsum("nrk,nk->nr", A[task_of_row], X)
        return np.einsum("ndr,nr->nd", B[task_of_row], Z) * scale_of_row[:, None]

    n, n_tasks = X.shape[0], A.shape[0]
    every = sum(scales[t] * (X @ A[t].T @ B[t].T) for t in range(n_tasks))
    first = np.full(n, ids[0])
    variants = {
        "every row used the first row's adapter (broadcasting instead of gathering): index A_stack[ids], "
        "B_stack[ids] so that row i gets its own task's pair": frozen + rows(first, scales[first]),
        "every row used adapter 0: gather A_stack[ids[i]] for row i": frozen + rows(np.zeros(n, int),
                                                                                      scales[np.zeros(n, int)]),
        "each row got the sum of all adapters (broadcasting instead of gathering): row i uses only its own task "
        "ids[i]": frozen + every,
        "row i must use adapter ids[i], not adapter i (index by the task id, not by the row number)":
            frozen + rows(np.arange(n) % n_tasks, scales[np.arange(n) % n_tasks]),
        "the scales are missing: multiply row i's branch by scales[ids[i]]": frozen + rows(ids, np.ones(n)),
        "each row has its own scale: scales[ids[i]], not one scale for the batch": frozen + rows(ids, scales[first]),
        "the frozen path is missing: H = X W0^T + the gathered branch": rows(ids, scales[ids]),
    }
    want = gathered(W0, (A, B, scales), X, ids)
    same("H", array(data, "H"), want, "row i: W0 x_i + scales[ids[i]] B_stack[ids[i]] A_stack[ids[i]] x_i",
         atol=1e-10, variants=variants)
    found = str(data.get("loops", "") or "")
    rows_one_by_one = int(np.asarray(data.get("rows_taken_one_by_one", 0)).sum())
    if found or rows_one_by_one >= 2:
        what = found or f"X or ids was read one row at a time ({rows_one_by_one} times)"
        fail(f"the values are right, but the task asks for one gathered pass with no Python loop: {what}",
             "gather every row's factors at once (A_stack[ids], B_stack[ids]) and apply them with np.einsum or "
             "batched matmul; a loop over rows or tasks runs Python once per row")
    return Outcome(True, "each row goes through W0 plus its own task's scaled B A, in one gathered pass "
                         "(no Python loop)")


# the package's merge, which may stand in for neither the student's merge_weight nor unmerge_weight
MERGE_REFERENCE = ('lora_course.merge.merge', 'lora_course.merge.unmerge', 'lora_course.merge.merged_delta',
                   'lora_course.merge.MergedWeight')

CHECKS: dict[str, Check] = check_table((
    Check("merge", "W = W0 + scale B A, W0 untouched", _collect_merge, _judge_merge),
    Check("unmerge", "W0 = W - scale B A", _collect_unmerge, _judge_unmerge),
    Check("switch", "the one-step switch between two adapters", _collect_switch, _judge_switch),
    Check("gathered", "the gathered multi-adapter forward, each row its own A and B", _collect_gathered,
          _judge_gathered),
), {
    "merge": (('merge_weight',), MERGE_REFERENCE),
    "unmerge": (('unmerge_weight',), MERGE_REFERENCE),
    "switch": (('switch_weight',),
        ('lora_course.merge.switch',
         'lora_course.merge.merge',
         'lora_course.merge.unmerge',
         'lora_course.merge.MergedWeight')),
    "gathered": (('gathered_forward',),
        ('lora_course.multi_lora.gathered',
         'lora_course.multi_lora.loop_per_adapter',
         'lora_course.multi_lora.merge_per_task',
         'lora_course.layer.lora_forward')),
})


judge_safely, run_check = lesson_runners(CHECKS, make_inputs)
