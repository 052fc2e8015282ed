"""Immediate feedback on exercise answers without the answer being readable.

An answer key is ``lc1:<form>:<sig>:<salt>:<digest>[:<coarse>]``: a salted SHA-256 of the answer written
to ``sig`` significant figures. ``check`` rounds the student's answer the same way and compares digests,
so a notebook can say "correct" or "not yet" while holding only the key. The tolerance is about half a
unit in the last significant figure (a little more next to a rounding boundary). Any answer given to
``sig`` figures or more is judged at ``sig`` figures.

The optional ``coarse`` field holds salted digests of the answer at each coarser precision (1 to
``sig - 1`` figures, from the exact value and from the ``sig``-figure value rounded again), so a right
answer given with too few figures ("0.54%" when three figures are asked for 0.536 %) is told
``too coarse`` instead of "not yet".

Known mistakes are keys too: ``check(answer, key, hint=..., mistakes={mistake_key: hint})``, each
mistake key made by ``make_key`` from the wrong value a typical slip produces (milliseconds never
converted, a factor of 2, r instead of alpha / r). A wrong answer that matches one gets that hint.

Forms: ``number`` (a value within rounding at ``sig`` figures), ``percent`` (a share, accepted as a
fraction 0.0108, a percentage 1.08 or the string "1.08%"), ``int`` (exact integer; ``sig`` only bounds
the coarse digests), ``tuple`` (a tuple of exact integers, e.g. a shape).

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
CORRECT, WRONG, MISSING, INVALID, COARSE = "correct", "not yet", "not answered", "invalid", "too coarse"
_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}
_MAX_COARSE = 3          # int keys: coarse digests for 1 .. 3 figures (18.9M, 19M, 20M)
_NUDGES = (0.0, -0.3, 0.3)


def _digest(salt: str, text: str) -> str:
    return hashlib.sha256(f"{salt}|{text}".encode()).hexdigest()[:32]


def _canonical(value: float, sig: int) -> str:
    if value == 0:
        return "0"
    return f"{value:.{sig - 1}e}"


def _half_up(value: float, sig: int) -> float:
    """``value`` rounded half away from zero to ``sig`` figures (how people round by hand)."""
    if value == 0:
        return 0.0
    exp = math.floor(math.log10(abs(value))) - sig + 1
    q = Fraction(str(abs(value))) / Fraction(10) ** exp
    rounded = math.floor(q + Fraction(1, 2))
    return math.copysign(float(rounded * Fraction(10) ** exp), value)


def _mantissa_figures(text: str) -> int | None:
    """Significant figures written in a plain numeric string ('0.0054' -> 2, '37.80' -> 4, '11000' -> 2)."""
    match = re.fullmatch(r"[-+]?(\d*)(?:\.(\d*))?(?:e[-+]?\d+)?", text)
    if not match:
        return None
    whole, frac = match.group(1) or "", match.group(2)
    digits = (whole + (frac or "")).lstrip("0")
    if frac is None:                         # an integer: trailing zeros do not show precision
        digits = digits.rstrip("0")
    return max(len(digits), 1)


def answer_figures(answer) -> int | None:
    """How many significant figures an answer is given to (None: exact or unknown, e.g. an int or a Fraction)."""
    if isinstance(answer, bool) or isinstance(answer, Fraction):
        return None
    if isinstance(answer, int):
        return _mantissa_figures(str(abs(answer)))
    if isinstance(answer, float):
        return _mantissa_figures(repr(abs(answer)).replace("inf", "").replace("nan", "")) if math.isfinite(answer) \
            else None
    if isinstance(answer, str):
        text = answer.strip().lower().replace(",", "").replace("_", "").replace(" ", "").rstrip("%")
        if text and text[-1] in _SUFFIX:
            text = text[:-1]
        if re.fullmatch(r"[-+]?\d+/\d+", text):
            return None
        return _mantissa_figures(text)
    if hasattr(answer, "__float__"):
        return answer_figures(float(answer))
    return None


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


def _coarse_texts(value, form: str, sig: int) -> list[str]:
    """``p|text`` for every coarser precision p: the exact value and the sig-figure value, each rounded to p."""
    if form == "tuple":
        return []
    value = float(value)
    if form == "int":
        value = float(round(value))
        levels = range(1, min(_mantissa_figures(str(int(abs(value)))) or 1, _MAX_COARSE + 1))
        at_sig = value
    else:
        levels = range(1, sig)
        at_sig = _half_up(value, sig)
    texts = []
    for p in levels:
        for v in (value, _half_up(at_sig, p)):
            texts.append(f"{p}|{_canonical(v, p)}")
    return sorted(set(texts))


def make_key(value, form: str = "number", sig: int = 3, salt: str | None = None, coarse: bool = True) -> str:
    """Answer key for ``value`` (for ``percent``, give the share as a fraction, e.g. 0.0108).

    ``coarse=False`` leaves out the coarse digests (mistake keys need none).
    """
    if form not in FORMS:
        raise ValueError(f"form: expected one of {FORMS}, got {form!r}")
    if not 1 <= sig <= 12:
        raise ValueError(f"sig: expected 1..12 significant figures, got {sig}")
    salt = salt or secrets.token_hex(4)
    key = f"lc1:{form}:{sig}:{salt}:{_digest(salt, _text(value, form, sig))}"
    texts = _coarse_texts(value, form, sig) if coarse else []
    return key + (":" + ".".join(_digest(salt, t)[:8] for t in texts) if texts else "")


def make_mistake(value, key: str, sig: int | None = None) -> str:
    """A mistake key for the wrong ``value``, in the form of ``key`` (to ``sig`` figures, default the key's)."""
    _, form, key_sig, _, _, _ = _split(key)
    return make_key(value, form, sig or key_sig, coarse=False)


def _text(value, form: str, sig: int) -> str:
    if form == "tuple":
        return ",".join(str(int(v)) for v in value)
    if form == "int":
        return str(int(round(float(value))))
    return _canonical(float(value), sig)


def _values(answer, form: str) -> list[float]:
    value, percent = parse_number(answer)
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {answer!r}")
    return [value / 100] if percent else ([value, value / 100] if form == "percent" else [value])


def _nudged(v: float, sig: int) -> list[str]:
    # Nudging by 0.3 of a unit in the last figure accepts answers that round the other way near a
    # rounding boundary, while an answer a whole unit off stays wrong.
    unit = 10 ** (math.floor(math.log10(abs(v))) - sig + 1) if v else 0.0
    return [_canonical(v + f * unit, sig) for f in _NUDGES]


def _candidates(answer, form: str, sig: int) -> list[str]:
    if form == "tuple":
        if not isinstance(answer, (tuple, list)):
            raise ValueError(f"expected a tuple of integers such as (100, 3), got {type(answer).__name__}")
        return [_text(answer, form, sig)]
    values = _values(answer, form)
    if form == "int":
        return [_text(values[0], form, sig)] if float(values[0]).is_integer() else []
    return [t for v in values for t in _nudged(v, sig)]


def _split(key: str) -> tuple[str, str, int, str, str, set[str]]:
    parts = key.split(":") if isinstance(key, str) else []
    try:
        tag, form, sig, salt, digest = parts[:5]
        sig = int(sig)
        coarse = set(parts[5].split(".")) if len(parts) == 6 and parts[5] else set()
        if len(parts) > 6:
            raise ValueError
    except ValueError:
        raise ValueError(f"key: expected 'lc1:<form>:<sig>:<salt>:<digest>', got {key!r}") from None
    if tag != "lc1" or form not in FORMS:
        raise ValueError(f"key: unknown key format {tag!r}/{form!r}")
    return tag, form, sig, salt, digest, coarse


def _is_coarse(answer, form: str, sig: int, salt: str, coarse: set[str]) -> bool:
    """True if ``answer`` is given to fewer than ``sig`` figures and matches the key at its own precision."""
    if not coarse or form == "tuple":
        return False
    p = answer_figures(answer)
    if p is None or (form != "int" and p >= sig):
        return False
    for v in _values(answer, form):
        texts = [_canonical(v, p)] if form == "int" else _nudged(v, p)
        if any(_digest(salt, f"{p}|{t}")[:8] in coarse for t in texts):
            return True
    return False


def evaluate(answer, key: str) -> str:
    """``correct``, ``not yet``, ``too coarse`` (right, but given to fewer figures than asked),
    ``not answered`` (answer is None or ...) or ``invalid`` (unreadable)."""
    _, form, sig, salt, digest, coarse = _split(key)
    if answer is None or answer is Ellipsis:
        return MISSING
    try:
        texts = _candidates(answer, form, sig)
        if any(_digest(salt, t) == digest for t in texts):
            return CORRECT
        return COARSE if _is_coarse(answer, form, sig, salt, coarse) else WRONG
    except (ValueError, TypeError, OverflowError):
        return INVALID


def diagnose(answer, key: str, hint: str = "", mistakes: dict[str, str] | None = None) -> tuple[str, str]:
    """(status, hint to show): a known mistake's hint when the answer matches one, else ``hint``."""
    status = evaluate(answer, key)
    if status == COARSE:
        sig = _split(key)[2]
        figures = "the exact whole number" if _split(key)[1] == "int" else f"{sig} significant figures"
        return status, f"right as far as it goes, but the question asks for {figures}"
    if status != WRONG:
        return status, hint if status == INVALID else ""
    for mistake_key, mistake_hint in (mistakes or {}).items():
        if evaluate(answer, mistake_key) == CORRECT:
            return status, mistake_hint
    return status, hint


def check(answer, key: str, hint: str = "", name: str = "answer", mistakes: dict[str, str] | None = None) -> None:
    """Print feedback on ``answer``: correct, too coarse, not yet (with the mistake's hint or ``hint``),
    not answered, or unreadable."""
    status, shown = diagnose(answer, key, hint, mistakes)
    if status == CORRECT:
        print(f"✅ {name}: correct.")
    elif status == MISSING:
        print(f"⏳ {name}: not answered yet (replace None with your answer).")
    elif status == INVALID:
        print(f"⚠️ {name}: could not read {answer!r}; give a number (e.g. 0.25, '25%', '1.5M').")
    elif status == COARSE:
        print(f"🔍 {name}: too coarse: {shown}.")
    else:
        print(f"❌ {name}: not yet." + (f" Hint: {shown}" if shown else ""))
