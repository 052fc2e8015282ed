"""Lesson 05's stage checks: the solution passes every one, typical mistakes are caught with a useful hint."""

from __future__ import annotations

import ast
import io
import json
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lora_course.feedback.project import checks as pc
from lora_course.gradcheck import numerical_gradient, rel_error
from lora_course.lessons.l05_project import (
    ClassificationHead,
    FrozenNetwork,
    bce_with_logits,
    label,
    make_network,
    make_tasks,
    network_forward,
    sigmoid,
)

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "05_project.ipynb"
STUDENT = ROOT / "notebooks" / "05_project.ipynb"


def _definitions(path: Path) -> dict:
    """Exec only the imports, constant assignments, functions and classes of a notebook's code cells."""
    namespace: dict = {}
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code" or cell.source.startswith("%%"):
            continue                                      # a cell magic's cell runs the student's code
        tree = ast.parse("\n".join(line for line in cell.source.splitlines() if not line.startswith("%")))
        keep = [node for node in tree.body
                if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))
                or (isinstance(node, ast.Assign) and isinstance(node.value, (ast.Constant, ast.Tuple))
                    and all(isinstance(e, ast.Constant) for e in getattr(node.value, "elts", [node.value])))]
        exec(compile(ast.Module(body=keep, type_ignores=[]), str(path), "exec"), namespace)  # noqa: S102
    return namespace


@pytest.fixture(scope="module")
def solution() -> dict:
    return _definitions(SOLUTION)


def _outcomes(namespace: dict, seed: int = 0, names=None) -> dict[str, pc.Outcome]:
    return {name: pc.evaluate(name, namespace, seed) for name in (names or pc.CHECKS)}


def _with(solution: dict, **replacements) -> dict:
    return {**solution, **replacements}


# ----------------------------------------------------------------------------------------- the solution

@pytest.mark.parametrize("seed", [0, 3])
def test_solution_passes_every_check(solution, seed):
    outcomes = _outcomes(solution, seed)
    failed = {name: o.message for name, o in outcomes.items() if not o.passed}
    assert not failed, failed


def test_check_table_is_ordered_and_complete():
    expected = ["lora_init", "lora_forward", "lora_backward", "lora_update", "merged_delta", "zero_init",
                "adapted_forward", "exact_backprop", "train_step", "frozen_unchanged", "accuracy_task_a",
                "merge_equivalence", "accuracy_task_b", "no_interference"]
    assert list(pc.CHECKS) == expected
    assert all(isinstance(c, pc.Check) and c.name == n and c.description for n, c in pc.CHECKS.items())


def test_collected_data_survive_npz_and_json(solution):
    """The grader stores what collect returns; judging the reloaded copy gives the same verdict."""
    inputs = pc.make_inputs(0)
    for name in pc.CHECKS:
        data = pc.collect_safely(name, solution, inputs)
        assert isinstance(data, dict) and all(isinstance(v, np.ndarray) for v in data.values()), name
        buffer = io.BytesIO()
        np.savez(buffer, **data)
        buffer.seek(0)
        with np.load(buffer) as loaded:
            assert pc.judge_safely(name, dict(loaded), inputs).passed, name
        as_json = json.loads(json.dumps({k: v.tolist() for k, v in data.items()}))
        assert pc.judge_safely(name, as_json, inputs).passed, name


def test_make_inputs_is_deterministic_and_seed_dependent():
    a, b, c = pc.make_inputs(4), pc.make_inputs(4), pc.make_inputs(5)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["X"], c["X"])
    assert pc.make_inputs(0)["net_seed"] == 0 and pc.make_inputs(0)["data_seed"] == 1, "seed 0 = the notebook's data"
    for bad in (-1, 1.5, True, "0"):
        with pytest.raises(ValueError, match="seed"):
            pc.make_inputs(bad)


def test_run_check_prints_pass_and_unknown_names_raise(solution, capsys):
    outcome = pc.run_check("lora_forward", solution)
    assert outcome.passed and capsys.readouterr().out.startswith("PASS lora_forward:")
    with pytest.raises(KeyError, match="lora_init"):
        pc.run_check("no_such_check", solution)


# ------------------------------------------------------------------------------------- not implemented

def test_empty_namespace_reports_not_implemented(capsys):
    outcomes = pc.run_all({})
    assert all(not o.passed and o.message.startswith(pc.NOT_IMPLEMENTED) for o in outcomes.values())
    assert "0 / 14 checks pass" in capsys.readouterr().out


@pytest.mark.skipif(not STUDENT.exists(), reason="student notebook not generated yet")
def test_student_stubs_report_not_implemented():
    outcomes = _outcomes(_definitions(STUDENT))
    assert all(o.message == pc.NOT_IMPLEMENTED for o in outcomes.values()), {n: o.message for n, o in outcomes.items()}


def test_code_that_raises_is_reported_not_propagated(solution):
    def broken_forward(X, net, lora_1, lora_2):
        return X @ np.ones((3, 3)), None                # shape error inside the student's code
    outcome = pc.evaluate("adapted_forward", _with(solution, adapted_forward=broken_forward))
    assert not outcome.passed and "ValueError" in outcome.message


# --------------------------------------------------------------------------------------- typical mistakes

def _lora_variant(solution: dict, **methods) -> type:
    return type("LoRA", (solution["LoRA"],), methods)


def test_random_B_is_caught(solution):
    base = solution["LoRA"]

    def __init__(self, *args, **kwargs):
        base.__init__(self, *args, **kwargs)
        self.B = kwargs["rng"].normal(0.0, 0.01, self.B.shape)      # the checks pass rng by keyword

    outcomes = _outcomes(_with(solution, LoRA=_lora_variant(solution, __init__=__init__)),
                         names=["lora_init", "zero_init"])
    assert not outcomes["lora_init"].passed and "B is not zero" in outcomes["lora_init"].message
    assert "zero" in outcomes["lora_init"].hint
    assert not outcomes["zero_init"].passed


def test_scale_alpha_instead_of_alpha_over_r_is_caught(solution):
    base = solution["LoRA"]

    def __init__(self, *args, **kwargs):
        base.__init__(self, *args, **kwargs)
        self.scale = self.alpha

    outcomes = _outcomes(_with(solution, LoRA=_lora_variant(solution, __init__=__init__)),
                         names=["lora_init", "lora_forward", "lora_backward"])
    assert not outcomes["lora_init"].passed and "alpha / r" in outcomes["lora_init"].hint
    assert not outcomes["lora_forward"].passed
    assert "alpha (r times too large)" in outcomes["lora_forward"].hint


def test_transposed_gradient_is_caught(solution):
    base = solution["LoRA"]

    def backward(self, grad_output, cache):
        dx = base.backward(self, grad_output, cache)
        self.dA = self.dA.T                                # (d_in, r) instead of (r, d_in)
        return dx

    outcome = pc.evaluate("lora_backward", _with(solution, LoRA=_lora_variant(solution, backward=backward)))
    assert not outcome.passed and "transpose" in outcome.message


def test_square_transposed_merged_delta_is_caught(solution):
    outcome = pc.evaluate("merged_delta", _with(solution, LoRA=_lora_variant(
        solution, get_merged_delta=lambda self: (self.scale * self.B @ self.A).T)))
    assert not outcome.passed and "transpose" in outcome.message


def test_division_by_batch_size_is_caught(solution):
    base = solution["LoRA"]

    def backward(self, grad_output, cache):
        return base.backward(self, grad_output / grad_output.shape[0], cache)

    outcome = pc.evaluate("lora_backward", _with(solution, LoRA=_lora_variant(solution, backward=backward)))
    assert not outcome.passed and "batch size" in outcome.hint


def test_gradient_ascent_is_caught(solution):
    def update(self, lr):
        self.A += lr * self.dA      # up the gradient
        self.B += lr * self.dB      # up the gradient

    outcome = pc.evaluate("lora_update", _with(solution, LoRA=_lora_variant(solution, update=update)))
    assert not outcome.passed and "subtracts" in outcome.hint


def test_init_not_drawn_from_rng_or_with_wrong_std_is_caught(solution):
    base = solution["LoRA"]

    def fresh_rng(self, *args, **kwargs):
        base.__init__(self, *args, **{**kwargs, "rng": np.random.default_rng()})

    def variance(self, *args, **kwargs):
        base.__init__(self, *args, **{**kwargs, "init_scale": np.sqrt(kwargs["init_scale"])})

    rng_outcome = pc.evaluate("lora_init", _with(solution, LoRA=_lora_variant(solution, __init__=fresh_rng)))
    std_outcome = pc.evaluate("lora_init", _with(solution, LoRA=_lora_variant(solution, __init__=variance)))
    assert not rng_outcome.passed and "rng argument" in rng_outcome.hint
    assert not std_outcome.passed and "standard deviation" in std_outcome.hint


def test_shortcut_backprop_is_caught(solution):
    def shortcut(grad_out, cache, lora_1, lora_2):
        cache1, cache2 = cache
        lora_2.backward(grad_out, cache2)
        lora_1.backward(grad_out, cache1)                 # drops lora_2's path into h2
        return grad_out

    outcome = pc.evaluate("exact_backprop", _with(solution, adapted_backward=shortcut))
    assert not outcome.passed and "lora_2.backward" in outcome.hint


def test_lora_2_on_frozen_h2_is_caught(solution):
    hidden = solution["hidden"]

    def wrong(X, net, lora_1, lora_2):
        h1 = hidden(X, net)
        frozen_h2 = h1 @ net.W2 + net.b2
        h2 = frozen_h2 + lora_1.forward(h1)[0]
        return h2 + lora_2.forward(frozen_h2)[0], None

    outcome = pc.evaluate("adapted_forward", _with(solution, adapted_forward=wrong))
    assert not outcome.passed and "after lora_1's delta" in outcome.hint


def test_frozen_weights_changed_during_training_is_caught(solution):
    train = solution["train_task"]

    def leaky_train(X, y, net, lora_1, lora_2, head, epochs=300, lr=0.3):
        losses = train(X, y, net, lora_1, lora_2, head, epochs=epochs, lr=lr)
        net.W2 -= 1e-6 * np.sign(net.W2)                     # "fine-tunes" a frozen weight a little
        return losses

    outcomes = _outcomes(_with(solution, train_task=leaky_train), names=["frozen_unchanged", "no_interference"])
    assert not outcomes["frozen_unchanged"].passed and "W2" in outcomes["frozen_unchanged"].message
    assert "never write" in outcomes["frozen_unchanged"].hint
    assert not outcomes["no_interference"].passed


def test_shared_state_between_tasks_is_caught(solution):
    train, shared = solution["train_task"], {}

    def sharing_train(X, y, net, lora_1, lora_2, head, epochs=300, lr=0.3):
        first = shared.setdefault("lora_1", lora_1)         # silently reuses the first task's adapter
        return train(X, y, net, first, lora_2, head, epochs=epochs, lr=lr)

    outcome = pc.evaluate("no_interference", _with(solution, train_task=sharing_train))
    assert not outcome.passed and "task A's" in outcome.message


def test_training_that_ignores_lr_or_skips_the_head_is_caught(solution):
    train = solution["train_task"]
    outcome = pc.evaluate("train_step", _with(solution, train_task=lambda X, y, net, l1, l2, head, epochs, lr:
                                              train(X, y, net, l1, l2, head, epochs=epochs, lr=lr / 2)))
    assert not outcome.passed

    def no_head(X, y, net, lora_1, lora_2, head, epochs=300, lr=0.3):
        frozen_head = ClassificationHead(head.W.shape[0], np.random.default_rng(0))
        frozen_head.W, frozen_head.b = head.W.copy(), head.b.copy()
        return train(X, y, net, lora_1, lora_2, frozen_head, epochs=epochs, lr=lr)

    outcome = pc.evaluate("train_step", _with(solution, train_task=no_head))
    assert not outcome.passed and "head" in outcome.message


def test_undertrained_adapters_fail_the_accuracy_check(solution):
    train = solution["train_task"]
    outcome = pc.evaluate("accuracy_task_a", _with(solution, train_task=lambda X, y, net, l1, l2, head, epochs, lr:
                                                   train(X, y, net, l1, l2, head, epochs=5, lr=lr)))
    assert not outcome.passed and "reference" in outcome.message


def test_incomplete_merges_are_caught_with_specific_hints(solution):
    merge = solution["merge_network"]

    def without_bias(net, lora_1, lora_2):
        merged = merge(net, lora_1, lora_2)
        return FrozenNetwork(merged.W1, merged.b1, merged.W2, net.b2.copy())

    def only_lora_1(net, lora_1, lora_2):
        return FrozenNetwork(net.W1.copy(), net.b1.copy(), net.W2 + lora_1.get_merged_delta().T, net.b2.copy())

    def in_place(net, lora_1, lora_2):
        merged = merge(net, lora_1, lora_2)
        net.W2 += 0.0 * net.W2 + 1e-3                       # writes into the frozen array
        return merged

    bias = pc.evaluate("merge_equivalence", _with(solution, merge_network=without_bias))
    first = pc.evaluate("merge_equivalence", _with(solution, merge_network=only_lora_1))
    mutated = pc.evaluate("merge_equivalence", _with(solution, merge_network=in_place))
    assert not bias.passed and "b2' = b2 (I + M)" in bias.hint
    assert not first.passed and "lora_2 is not folded in" in first.hint
    assert not mutated.passed and "changed the frozen" in mutated.message


# ------------------------------------------------------------------------------------- judge robustness

@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from([n for n in pc.CHECKS if not n.startswith("accuracy")]),
       junk=st.sampled_from(["nan", "shape", "missing", "text"]))
def test_judges_never_raise_on_malformed_data(solution, name, junk):
    inputs = pc.make_inputs(0)
    data = pc.collect_safely(name, solution, inputs)
    key = sorted(data)[0]
    if junk == "nan":
        data[key] = np.full_like(data[key], np.nan)
    elif junk == "shape":
        data[key] = np.zeros((data[key].size + 1,))
    elif junk == "missing":
        del data[key]
    else:
        data[key] = "not numbers"
    outcome = pc.judge_safely(name, data, inputs)
    assert isinstance(outcome, pc.Outcome) and not outcome.passed and outcome.hint


def test_judge_does_not_trust_a_claimed_pass(solution):
    """Only raw arrays count: a forged 'passed' field is ignored and wrong numbers still fail."""
    inputs = pc.make_inputs(0)
    data = pc.collect_safely("lora_forward", solution, inputs)
    forged = {"delta": data["delta"] * 1.5, "passed": np.array(1.0)}
    assert not pc.judge_safely("lora_forward", forged, inputs).passed


# ------------------------------------------------------------------------------------------ project data

def test_network_and_tasks_are_reproducible_with_the_stated_sizes():
    net, again = make_network(np.random.default_rng(0)), make_network(np.random.default_rng(0))
    assert net.n_params == 128 + 16 + 128 + 8 == 280
    assert all(np.array_equal(a, b) for a, b in zip(net.arrays().values(), again.arrays().values(), strict=True))
    tasks = make_tasks(np.random.default_rng(1), n_train=50, n_test=20)
    assert tasks["A"].X_train.shape == (50, 8) and tasks["B"].X_test.shape == (20, 8)
    assert np.array_equal(tasks["A"].y_train, (tasks["A"].X_train.sum(axis=1) > 0).astype(float))
    assert np.array_equal(tasks["B"].y_test, (tasks["B"].X_test[:, 0] > 0).astype(float))
    assert network_forward(tasks["A"].X_test, net).shape == (20, 8)
    copy = net.copy()
    copy.W2 += 1.0
    assert not np.array_equal(copy.W2, net.W2), "copy() must not share arrays"


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(TypeError, match="Generator"):
        make_network(0)
    with pytest.raises(ValueError, match="task"):
        label("C", np.zeros((2, 8)))
    with pytest.raises(ValueError, match=r"expected shape \(\?, 8\)"):
        network_forward(np.zeros((2, 5)), make_network(np.random.default_rng(0)))


def test_loss_and_head_gradients_match_numerical_ones():
    rng = np.random.default_rng(3)
    out, y = rng.normal(size=(7, 8)), (rng.random(7) < 0.5).astype(float)
    head = ClassificationHead(8, rng, init_std=0.5)
    logits, cache = head.forward(out)
    _, dlogits = bce_with_logits(logits, y)
    dout = head.backward(dlogits, cache)

    def loss() -> float:
        return bce_with_logits(head.forward(out)[0], y)[0]

    assert rel_error(head.dW, numerical_gradient(loss, head.W)) < 1e-7
    assert rel_error(head.db, numerical_gradient(loss, head.b)) < 1e-7
    assert rel_error(dout, numerical_gradient(loss, out)) < 1e-7
    assert np.isclose(bce_with_logits(np.zeros(4), np.array([0.0, 1.0, 1.0, 0.0]))[0], np.log(2))


@given(st.floats(-1e4, 1e4, allow_nan=False))
def test_sigmoid_is_finite_and_in_range(z):
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow to 0 or 1 is fine
        p = float(sigmoid(np.array([z]))[0])
    assert 0.0 <= p <= 1.0


# ------------------------------------------------------------ checks that the kernel cannot patch (issue 14)

def test_patched_frozen_network_arrays_cannot_hide_a_frozen_weights_bug(solution, monkeypatch):
    """A notebook that patches FrozenNetwork.arrays to report pristine weights still fails: collect reads the
    instance itself and judge rebuilds the network from the seed in the grader's process."""
    train = solution["train_task"]
    pristine: dict[int, dict] = {}

    def leaky_train(X, y, net, lora_1, lora_2, head, epochs=300, lr=0.3):
        pristine[id(net)] = {k: v.copy() for k, v in vars(net).items()}
        losses = train(X, y, net, lora_1, lora_2, head, epochs=epochs, lr=lr)
        net.W2 += 1e-3                                         # the bug
        return losses

    inputs = pc.make_inputs(0)
    namespace = _with(solution, train_task=leaky_train)
    with monkeypatch.context() as patch:                       # the kernel's patch, during collect only
        patch.setattr(FrozenNetwork, "arrays", lambda self: pristine.get(id(self), dict(vars(self))))
        patch.setattr("lora_course.lessons.l05_project.make_network", lambda rng, *a, **k: None)
        data = {name: pc.collect_safely(name, namespace, inputs) for name in ("frozen_unchanged", "no_interference")}
    for name, collected in data.items():
        assert isinstance(collected, dict), (name, collected)
        outcome = pc.judge_safely(name, collected, inputs)
        assert not outcome.passed and "W2" in outcome.message, (name, outcome)


def test_kernel_half_needs_no_package_builders():
    """The collect module reads the network and data from the inputs, never through make_network/make_tasks."""
    from lora_course.feedback.project import collect

    source = Path(collect.__file__).read_text()
    assert "make_network" not in source and "make_tasks" not in source and ".arrays()" not in source
    inputs = pc.make_inputs(2)
    net = make_network(np.random.default_rng(2))
    assert all(np.array_equal(inputs[f"net_{k}"], getattr(net, k)) for k in ("W1", "b1", "W2", "b2"))
    split = make_tasks(np.random.default_rng(3))["B"]
    assert np.array_equal(inputs["task_B_X_train"], split.X_train)
    assert np.array_equal(inputs["task_B_y_train"], split.y_train)


# ------------------------------------------------------------------- the reference cannot stand in (issue 13)

def _reference_lora_namespace(solution: dict) -> dict:
    from lora_course.layer import LoRA
    return _with(solution, LoRA=LoRA)


def test_reference_lora_fails_its_checks_with_the_reason(solution):
    outcomes = _outcomes(_reference_lora_namespace(solution))
    for name in ("lora_init", "lora_forward", "lora_backward", "lora_update", "merged_delta"):
        assert not outcomes[name].passed, name
        assert "package's own implementation" in outcomes[name].message and "lora_course.layer.LoRA" in \
            outcomes[name].message
    assert outcomes["adapted_forward"].passed, "the student's own adapted_forward is still their work"


def test_subclass_and_wrapper_of_the_reference_fail(solution):
    from lora_course.layer import LoRA as Reference
    from lora_course.layer import lora_forward

    class Sub(Reference):
        pass

    class Wrapped:
        def __init__(self, k, d, r, alpha=None, init_scale=0.01, rng=None):
            self.inner = solution["LoRA"](k, d, r, alpha=alpha, init_scale=init_scale, rng=rng)
            self.A, self.B, self.scale = self.inner.A, self.inner.B, self.inner.scale

        def forward(self, x):
            return lora_forward(x, self.A, self.B, self.scale)

    for cls, needle in ((Sub, "subclasses"), (Wrapped, "lora_course.layer.lora_forward")):
        outcome = pc.evaluate("lora_forward", _with(solution, LoRA=cls))
        assert not outcome.passed and needle in outcome.message, outcome


def test_honest_solution_is_not_flagged(solution):
    for name in pc.CHECKS:
        assert pc.reference_outcome(name, solution) is None, name
