"""The bad-input contract of every public function (issue 12).

Every public function, class and method of the library modules is either a plain record, takes no input, or
has a spec in ``tests/contract_cases.py``: a valid call and the kind of each argument. Hypothesis then swaps
one argument for a bad value of its kind (wrong shape or dtype, NaN / inf, bad ranks and scales, empty
batches, non-Generator rngs, ...) and the call must either give the correct result or raise ``InputError``
with a message that starts with the parameter's name. Equivalent inputs (a list for an array, a numpy
integer for an int) must give the same result as the valid call.
"""

from __future__ import annotations

import math

import contract_cases as cc
import matplotlib
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lora_course.analysis import amplification_factor
from lora_course.merge import Adapter, MergedWeight, merge, merged_delta, switch
from lora_course.toy.transformer import accuracy, softmax_cross_entropy
from lora_course.validation import InputError, InputTypeError

matplotlib.use("Agg")

SPECS = cc.specs()
PUBLIC = cc.public_callables()


def test_every_public_function_has_a_contract_spec():
    """A new public function without a spec (or a spec for a removed one) fails here."""
    covered = set(SPECS) | cc.RECORDS | cc.NO_INPUTS
    assert sorted(set(PUBLIC) - covered) == [], "public functions without a spec in tests/contract_cases.py"
    assert sorted(covered - set(PUBLIC)) == [], "specs for functions that no longer exist"


@pytest.mark.parametrize("name", sorted(cc.NO_INPUTS))
def test_functions_without_inputs_run(name):
    objects = {"layer.LoRA": lambda: PUBLIC["layer.LoRA"](3, 4, 2, rng=cc.rng()),
               "project_data.FrozenNetwork": cc.net,
               "targets_experiment.PointerTask": lambda: PUBLIC["targets_experiment.PointerTask"](),
               "targets_experiment.Setting": lambda: PUBLIC["targets_experiment.Setting"](),
               "l03_experiment.Experiment": cc.tiny_experiment,
               "timing.Interval": cc.interval, "comparison.Comparison": cc.comparison, "verdicts.Claim": cc.a_claim,
               "svg_axes.Axis": cc.an_axis}
    owner = name.rpartition(".")[0]
    fn = PUBLIC[name]
    fn(objects[owner]()) if owner in objects else fn()


def _generated(kind: str) -> st.SearchStrategy:
    """(label, bad value, expected outcome) drawn beyond the fixed lists, per kind."""
    base = kind.split("+")[0]
    non_integral = st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not float(f).is_integer())
    nonfinite = st.sampled_from([math.nan, math.inf, -math.inf]).map(lambda v: ("NaN", v, cc.REJECT))
    vectors = st.integers(2, 4).map(lambda n: ("array", np.full(n, 0.5), cc.REJECT))
    if base == "int":
        return st.one_of(st.integers(-10**6, 0).map(lambda v: ("zero" if v == 0 else "negative", v, cc.REJECT)),
                         non_integral.map(lambda v: ("float", v, cc.REJECT)))
    if base == "int0":
        return st.one_of(st.integers(-10**6, -1).map(lambda v: ("negative", v, cc.REJECT)),
                         non_integral.map(lambda v: ("float", v, cc.REJECT)))
    if base == "rank":
        return st.one_of(st.integers(10**5, 10**9).map(lambda v: ("above min(d, k)", v, cc.REJECT)),
                         st.integers(-10**6, 0).map(lambda v: ("zero" if v == 0 else "negative", v, cc.REJECT)))
    if base == "scale":
        return st.one_of(nonfinite, vectors, st.text(max_size=4).map(lambda v: ("string", v, cc.REJECT)))
    if base == "pos":
        return st.one_of(nonfinite, vectors, st.floats(-1e9, 0.0).map(
            lambda v: ("zero" if v == 0 else "negative", v, cc.REJECT)))
    if base == "nonneg":
        return st.one_of(nonfinite, st.floats(-1e9, -1e-9).map(lambda v: ("negative", v, cc.REJECT)))
    if base == "rng":
        return st.integers(0, 2**32).map(lambda v: ("int seed", v, cc.REJECT))
    if base == "choice":
        return st.text(min_size=1, max_size=8).filter(lambda t: t not in {"sgd", "adam", "a", "b", "q", "k", "v", "o"}
                                                      ).map(lambda v: ("unknown name", v, cc.REJECT))
    return st.nothing()


def _run(spec: cc.Spec, param: str, bad):
    kwargs = spec.valid()
    kwargs[param] = bad
    with np.errstate(all="ignore"):      # NaN weights (``+nanok``) may propagate
        return spec.call(**kwargs)


@pytest.mark.parametrize("name", sorted(SPECS))
@settings(max_examples=12, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_bad_input_gives_a_correct_result_or_a_named_error(name, data):
    spec = SPECS[name]
    param = data.draw(st.sampled_from(sorted(spec.kinds)), label="parameter")
    kind = spec.kinds[param]
    index = data.draw(st.integers(0, 10**6), label="entry")
    fixed = cc.mutations(name, spec, param, index)
    label, bad, want = data.draw(st.one_of(st.sampled_from(fixed), _generated(kind)), label="bad value")
    want = cc.expectation(name, param, label, bad, want)
    shown = spec.names.get(param, param)
    allowed = [spec.names.get(p, p) for p in spec.kinds] if label in cc.MISMATCH else [shown]
    try:
        result = _run(spec, param, bad)
    except InputError as err:
        message = str(err).strip("'")
        assert any(cc.message_names(message, p) for p in allowed), \
            f"{name}({param}={label}): the message should start with {allowed}: {message!r}"
        return
    assert want != cc.REJECT, f"{name}({param}={label}): accepted a bad value, returned {result!r:.200}"
    if want == cc.SAME and spec.deterministic:
        assert cc.same(result, spec.call(**spec.valid())), f"{name}({param}={label}): an equivalent input " \
                                                          f"gave a different result"


@pytest.mark.parametrize("case", cc.known_cases(), ids=lambda c: f"{c[0]}: {c[1]}")
def test_the_issue_cases(case):
    """Each bad input named in issue 12: a named InputError, or the right answer."""
    name, label, thunk, param, want = case
    try:
        result = thunk()
    except InputError as err:
        assert cc.message_names(str(err).strip("'"), param), f"{name} ({label}): {err}"
        return
    assert want != cc.REJECT, f"{name} ({label}): accepted, returned {result!r:.200}"
    assert want(result), f"{name} ({label}): wrong result {result!r:.200}"


# ---------------------------------------------------------------- the issue's cases, spelled out
def test_error_types_keep_the_builtin_ones():
    assert issubclass(InputError, ValueError) and issubclass(InputTypeError, TypeError)
    assert issubclass(InputTypeError, InputError)


def test_gradcheck_rejects_int_and_float32_arrays():
    from lora_course.gradcheck import numerical_gradient

    for dtype in (int, np.float32):
        x = np.array([1, 2, 3], dtype=dtype)
        with pytest.raises(InputError, match="x: expected a float64 array"):
            numerical_gradient(lambda x=x: float(np.sum(x.astype(float) ** 2)), x)
    x = np.array([1.0, 2.0, 3.0])
    assert np.allclose(numerical_gradient(lambda: float(np.sum(x**2)), x), [2, 4, 6], rtol=1e-8)


def test_switch_on_integer_weights_agrees_with_merge():
    rng = np.random.default_rng(0)
    W = np.arange(12).reshape(4, 3)
    old = Adapter(rng.normal(size=(2, 3)), rng.normal(size=(4, 2)), 0.5)
    new = Adapter(rng.normal(size=(2, 3)), rng.normal(size=(4, 2)), 0.5)
    switched = switch(merge(W, old), old, new)
    assert switched.dtype == np.float64 and np.allclose(switched, merge(W, new))
    assert np.allclose(switch(W, old, new), W + merged_delta(*new) - merged_delta(*old))
    served = MergedWeight(W)
    assert np.allclose(served.switch_to(new), merge(W, new))


def test_float32_switching_stays_float32():
    W = np.ones((4, 3), dtype=np.float32)
    ad = Adapter(np.ones((2, 3), np.float32), np.ones((4, 2), np.float32), 0.5)
    assert switch(W, ad, ad).dtype == np.float32


def test_amplification_factor_needs_r_within_the_rank_of_dW():
    dW = np.outer(np.arange(1.0, 5.0), np.arange(1.0, 5.0))    # rank 1
    W = np.random.default_rng(0).normal(size=(4, 4))
    assert amplification_factor(dW, W, 1) > 0
    with pytest.raises(InputError, match=r"r: expected r <= rank\(dW\) = 1"):
        amplification_factor(dW, W, 2)


def test_labels_must_be_in_range_and_one_dimensional():
    logits = np.eye(3)[[0, 2, 1]] * 5.0
    with pytest.raises(InputError, match=r"y: expected labels in \[0, 3\)"):
        softmax_cross_entropy(logits, np.array([0, 2, -1]))
    with pytest.raises(InputError, match=r"y: expected shape \(3,\)"):
        accuracy(logits, np.array([[0], [2], [1]]))
    assert accuracy(logits, np.array([0, 2, 1])) == 1.0


# ---------------------------------------------------------------- contract classes (one rule per class)
@pytest.mark.parametrize("case", cc.class_cases(), ids=lambda c: f"{c[0]}: {c[1]}: {c[2]}")
def test_each_contract_class_holds_its_rule(case):
    """Named arrays, shapes that must not broadcast, plain tuples, transposed weights, unit boundaries and the
    feedback checks' own inputs: a clear error naming the parameter (TypeError / ValueError), or the right answer."""
    cls, name, label, thunk, param, want = case
    try:
        result = thunk()
    except (TypeError, ValueError) as err:
        assert want == cc.REJECT, f"{name} ({label}): refused a valid input: {err}"
        assert cc.message_names(str(err).strip("'"), param), f"{name} ({label}): the message names no {param}: {err}"
        return
    assert want != cc.REJECT, f"{name} ({label}): accepted, returned {result!r:.200}"
    assert want(result), f"{name} ({label}): wrong result {result!r:.200}"


def test_every_contract_class_has_cases():
    assert {case[0] for case in cc.class_cases()} == set(cc.CLASSES)
