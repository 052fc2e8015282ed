"""Immediate feedback on exercise answers without the answer being readable.

An answer key is ``lc1:<form>:<sig>:<salt>:<digest>``: a salted SHA-256 of the answer written to
``sig`` significant figures. ``check`` rounds the student's answer the same way and compares
digests, so a notebook can say "correct" or "not yet" while holding only the key. The tolerance is
about half a unit in the last significant figure (a little more next to a rounding boundary).

Forms: ``number`` (a value within rounding at ``sig`` figures), ``percent`` (a share, accepted as a
fraction 0.0108, a percentage 1.08 or the string "1.08%"), ``int`` (exact integer, ``sig`` unused),
``tuple`` (a tuple of exact integers, e.g. a shape).

This hides answers from reading, not from a determined search over candidate values; the grader
(``lora-course grade``) does not trust these checks and recomputes everything outside the kernel.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from fractions import Fraction

FORMS = ("number", "percent", "int", "tuple")
CORRECT, WRONG, MISSING, INVALID = "correct", "not yet", "not answered", "invalid"
_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}


def _digest(salt: str, text: str) -> str:
    return hashlib.sha256(f"{salt}|{text}".encode()).hexdigest()[:32]


def _canonical(value: float, sig: int) -> str:
    if value == 0:
        return "0"
    return f"{value:.{sig - 1}e}"


def parse_number(answer) -> tuple[float, bool]:
    """Return (value, had_percent_sign) for a number or a string like '1,536', '18.9M', '3/8', '1.08%'."""
    if isinstance(answer, bool):
        raise ValueError(f"expected a number, got the boolean {answer}")
    if isinstance(answer, (int, float, Fraction)) or hasattr(answer, "__float__"):
        return float(answer), False
    if not isinstance(answer, str):
        raise ValueError(f"expected a number or a numeric string, got {type(answer).__name__}")
    text = answer.strip().lower().replace(",", "").replace("_", "").replace(" ", "")
    percent = text.endswith("%")
    text = text.rstrip("%")
    mult = 1.0
    if text and text[-1] in _SUFFIX:
        mult, text = _SUFFIX[text[-1]], text[:-1]
    try:
        value = float(Fraction(text)) if re.fullmatch(r"[-+]?\d+/\d+", text) else float(text)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"could not read {answer!r} as a number") from None
    return value * mult, percent


def make_key(value, form: str = "number", sig: int = 3, salt: str | None = None) -> str:
    """Answer key for ``value`` (for ``percent``, give the share as a fraction, e.g. 0.0108)."""
    if form not in FORMS:
        raise ValueError(f"form: expected one of {FORMS}, got {form!r}")
    if not 1 <= sig <= 12:
        raise ValueError(f"sig: expected 1..12 significant figures, got {sig}")
    salt = salt or secrets.token_hex(4)
    return f"lc1:{form}:{sig}:{salt}:{_digest(salt, _text(value, form, sig))}"


def _text(value, form: str, sig: int) -> str:
    if form == "tuple":
        return ",".join(str(int(v)) for v in value)
    if form == "int":
        return str(int(round(float(value))))
    return _canonical(float(value), sig)


def _candidates(answer, form: str, sig: int) -> list[str]:
    if form == "tuple":
        if not isinstance(answer, (tuple, list)):
            raise ValueError(f"expected a tuple of integers such as (100, 3), got {type(answer).__name__}")
        return [_text(answer, form, sig)]
    value, percent = parse_number(answer)
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {answer!r}")
    if form == "int":
        return [_text(value, form, sig)] if float(value).is_integer() else []
    values = [value / 100] if percent else ([value, value / 100] if form == "percent" else [value])
    # Nudging by 0.3 of a unit in the last figure accepts answers that round the other way near a
    # rounding boundary, while an answer a whole unit off stays wrong.
    texts = []
    for v in values:
        unit = 10 ** (math.floor(math.log10(abs(v))) - sig + 1) if v else 0.0
        texts += [_canonical(v + f * unit, sig) for f in (0.0, -0.3, 0.3)]
    return texts


def evaluate(answer, key: str) -> str:
    """``correct``, ``not yet``, ``not answered`` (answer is None or ...) or ``invalid`` (unreadable)."""
    try:
        tag, form, sig, salt, digest = key.split(":")
        sig = int(sig)
    except ValueError:
        raise ValueError(f"key: expected 'lc1:<form>:<sig>:<salt>:<digest>', got {key!r}") from None
    if tag != "lc1" or form not in FORMS:
        raise ValueError(f"key: unknown key format {tag!r}/{form!r}")
    if answer is None or answer is Ellipsis:
        return MISSING
    try:
        texts = _candidates(answer, form, sig)
    except (ValueError, TypeError):
        return INVALID
    return CORRECT if any(_digest(salt, t) == digest for t in texts) else WRONG


def check(answer, key: str, hint: str = "", name: str = "answer") -> None:
    """Print feedback on ``answer``: correct, not yet (with the hint), not answered, or unreadable."""
    status = evaluate(answer, key)
    if status == CORRECT:
        print(f"✅ {name}: correct.")
    elif status == MISSING:
        print(f"⏳ {name}: not answered yet (replace None with your answer).")
    elif status == INVALID:
        print(f"⚠️ {name}: could not read {answer!r}; give a number (e.g. 0.25, '25%', '1.5M').")
    else:
        print(f"❌ {name}: not yet." + (f" Hint: {hint}" if hint else ""))
