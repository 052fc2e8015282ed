"""Answer keys: right, wrong, missing and equivalent forms, without the answer in the key."""

import pytest

from lora_course.checks import CORRECT, INVALID, MISSING, WRONG, check, evaluate, make_key, parse_number


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


def test_tolerance_is_about_half_a_unit_in_the_last_significant_figure():
    key = make_key(18_874_368, "number", sig=3)
    assert evaluate(18.9e6, key) == CORRECT and evaluate(18.85e6, key) == CORRECT
    assert evaluate(18.8e6, key) == WRONG and evaluate(19.0e6, key) == WRONG
    boundary = make_key(10_849, "number", sig=3)          # rounds to 1.08e4
    assert evaluate(10_851, boundary) == CORRECT, "a near miss across a rounding boundary still counts"


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
