"""Answer keys: right, wrong, missing and equivalent forms, without the answer in the key."""

from fractions import Fraction

import numpy as np
import pytest

from lora_course.feedback.answers import (
    COARSE,
    CORRECT,
    INVALID,
    MISSING,
    WRONG,
    answer_figures,
    check,
    diagnose,
    evaluate,
    make_key,
    make_mistake,
    parse_number,
)


@pytest.mark.parametrize(
    ("value", "form", "right", "wrong"),
    [
        (10_800.0, "number", [10_800, "10,800", "10.8k", 10_790.0], [10_900, 1_080, 3.0]),
        (0.000108, "percent", [0.000108, 0.0108, "0.0108%", 1.08e-4], [0.108, "1.08%", 0.000118]),
        (1_536, "int", [1536, "1,536", 1536.0], [1535, 1537, 1536.4]),
        ((100, 3), "tuple", [(100, 3), [100, 3]], [(3, 100), (100, 3, 1)]),
        (2 / 3, "number", ["2/3", 0.667, 0.6667], [0.6, "3/4"]),
        (0.0, "number", [0, "0"], [0.001]),
    ],
)
def test_right_wrong_and_missing(value, form, right, wrong):
    key = make_key(value, form, sig=3)
    for answer in right:
        assert evaluate(answer, key) == CORRECT, answer
    for answer in wrong:
        assert evaluate(answer, key) == WRONG, answer
    assert evaluate(None, key) == MISSING


def test_tolerance_is_half_a_unit_in_the_last_significant_figure():
    key = make_key(18_874_368, "number", sig=3)            # 1.89e7 at 3 figures: [1.885e7, 1.895e7) is right
    assert evaluate(18.9e6, key) == CORRECT and evaluate(18.85e6, key) == CORRECT
    assert evaluate(18.94e6, key) == CORRECT
    assert evaluate(18.8e6, key) == WRONG and evaluate(19.0e6, key) == WRONG
    assert evaluate(18.84e6, key) == WRONG and evaluate(18.95e6, key) == WRONG, "0.6 of a unit off is wrong"
    boundary = make_key(10_849, "number", sig=3)          # rounds to 1.08e4
    assert evaluate(10_851, boundary) == WRONG, "across the rounding boundary is more than half a unit away"
    assert evaluate(10_849.9, boundary) == CORRECT


def test_key_does_not_contain_the_answer():
    key = make_key(18_874_368, "int", salt="abcd")
    assert "18874368" not in key and "1.89" not in key
    assert make_key(1.0, salt="x") != make_key(1.0, salt="y"), "salted: equal answers give different keys"


def test_unreadable_answers_are_reported_not_raised(capsys):
    key = make_key(3.0)
    assert evaluate("three", key) == INVALID
    assert evaluate(True, key) == INVALID
    check("three", key, name="scale")
    assert "could not read 'three'" in capsys.readouterr().out


def test_feedback_messages(capsys):
    key = make_key(6.0)
    check(6, key, name="scale")
    check(3, key, hint="alpha / r with the new r", name="scale")
    check(None, key, name="scale")
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "✅ scale: correct.",
        "❌ scale: not yet. Hint: alpha / r with the new r",
        "⏳ scale: not answered yet (replace None with your answer).",
    ]


def test_parse_number_forms():
    assert parse_number("1.5M") == (1.5e6, False)
    assert parse_number(" 25 % ") == (25.0, True)
    with pytest.raises(ValueError, match="could not read"):
        parse_number("1/0")


def test_bad_keys():
    with pytest.raises(ValueError, match="expected 'lc1:<form>:<sig>:<salt>:<digest>'"):
        evaluate(1, "nonsense")
    with pytest.raises(ValueError, match="form: expected one of"):
        make_key(1, form="words")


# --------------------------------------------------------------------------- precision and known mistakes

@pytest.mark.parametrize(("value", "form", "sig", "coarse", "finer"), [
    (0.00536, "percent", 3, ["0.54%", "0.5%", 0.54, "0.0054"], ["0.536%", "0.5360%", 0.005362, 0.53604]),
    (37.748736, "number", 4, ["37.7", 38, "40"], ["37.75", "37.749", 37.7487]),
    (18_874_368, "int", 3, ["18.9M", "19M", 18_900_000, "20M"], ["18,874,368", 18_874_368]),
    (10_800.0, "number", 3, ["11k", 11_000], ["10.8k", "10,800", 10_800.4]),
])
def test_right_but_too_coarse_is_told_so_and_finer_is_accepted(value, form, sig, coarse, finer):
    key = make_key(value, form, sig)
    for answer in coarse:
        assert evaluate(answer, key) == COARSE, answer
        status, hint = diagnose(answer, key, "a hint about the method")
        assert status == COARSE and ("significant figures" in hint or "exact whole number" in hint), hint
    for answer in finer:
        assert evaluate(answer, key) == CORRECT, answer


def test_coarse_wrong_answers_stay_wrong():
    key = make_key(0.00536, "percent", 3)
    for answer in ("0.6%", "0.55%", "0.53%", 0.7):
        assert evaluate(answer, key) == WRONG, answer


def test_answer_figures():
    assert [answer_figures(a) for a in ("0.54%", "37.80", "11000", "10.8k", 0.0054, 10_800)] == [2, 4, 2, 3, 2, 3]
    assert answer_figures("3/8") is None and answer_figures(Fraction(3, 8)) is None


def test_known_mistakes_get_their_own_hint_and_stay_hashed(capsys):
    key = make_key(10_800.0, "number", 3, salt="s1")
    mistakes = {make_mistake(10_800_000, key): "the latencies are in milliseconds: divide by 1000",
                make_mistake(180, key): "per hour, not per minute"}
    assert all("10800" not in k and "1.08" not in k and "180" not in k.split(":")[4] for k in mistakes)
    ms_hint = "the latencies are in milliseconds: divide by 1000"
    assert diagnose(10_800_000, key, "generic", mistakes) == (WRONG, ms_hint)
    assert diagnose("10.8M", key, "generic", mistakes)[1].startswith("the latencies")
    assert diagnose(180.0, key, "generic", mistakes)[1] == "per hour, not per minute"
    assert diagnose(3.0, key, "generic", mistakes) == (WRONG, "generic")
    assert diagnose(10_800, key, "generic", mistakes) == (CORRECT, "")
    check(10_800_000, key, hint="generic", name="GPU-seconds", mistakes=mistakes)
    check("11k", key, hint="generic", name="GPU-seconds", mistakes=mistakes)
    out = capsys.readouterr().out.splitlines()
    assert out == ["❌ GPU-seconds: not yet. Hint: the latencies are in milliseconds: divide by 1000",
                   "🔍 GPU-seconds: too coarse: right as far as it goes, but the question asks for 3 significant "
                   "figures."]


def test_keys_without_coarse_digests_still_work():
    key = "lc1:number:3:244a4bbe:" + make_key(6.0, salt="244a4bbe").split(":")[4]
    assert evaluate(6, key) == CORRECT and evaluate("6.1", key) == WRONG and evaluate(7, key) == WRONG


def test_the_double_rounding_trap_is_wrong_and_named_never_too_coarse():
    """37.748736 to four figures is 37.75; to three it is 37.7. 37.8 (37.75 rounded again) is the trap."""
    key = make_key(37.748736, "number", 4)
    trap = {make_key(37.8, "number", 4, coarse=False): "rounded twice"}
    for answer in ("37.8", 37.8, "37.80", 37.80):
        assert evaluate(answer, key) == WRONG, answer
        assert diagnose(answer, key, "method", trap) == (WRONG, "rounded twice")
    assert diagnose("37.7", key, "method", trap)[0] == COARSE


def test_a_known_mistake_given_coarsely_is_named_before_too_coarse():
    key = make_key(1.2345, "number", 4)
    mistakes = {make_key(1.2, "number", 4, coarse=False): "the named slip"}
    assert diagnose("1.2", key, "method", mistakes) == (WRONG, "the named slip")


def test_a_fraction_prompt_refuses_a_bare_percentage_and_says_why():
    key = make_key(0.005362, "fraction", 3)
    for right in (0.00536, "0.536%", "0.5362%", 0.005362):
        assert evaluate(right, key) == CORRECT, right
    status, hint = diagnose(0.536, key, "method")
    assert status == WRONG and "read as a fraction" in hint
    assert diagnose("0.54%", key, "method")[0] == COARSE


@pytest.mark.parametrize("answer", [(100.9, 3.9), (100.5, 3), (True, 3), ("100", "3"), 100, (100, 3, 0),
                                    np.array([100.5, 3.0]), np.array([[100, 3]])])
def test_a_shape_key_takes_only_whole_numbers(answer):
    key = make_key((100, 3), "tuple")
    assert evaluate(answer, key) != CORRECT
    assert evaluate((100, 3), key) == CORRECT and evaluate([100, 3], key) == CORRECT
    assert evaluate((np.int64(100), np.int32(3)), key) == CORRECT
    # int vs float: a whole float, or a 1-d array of them, is the same shape
    assert evaluate((100.0, 3), key) == CORRECT and evaluate(np.array([100, 3]), key) == CORRECT
