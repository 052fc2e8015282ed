"""Immediate feedback on exercise answers without the answer being readable.

An answer key is ``lc1:<form>:<sig>:<salt>:<digest>[:<coarse>]``: a salted SHA-256 of the answer written
to ``sig`` significant figures. ``check`` rounds the student's answer the same way and compares digests,
so a notebook can say "correct" or "not yet" while holding only the key. The tolerance is half a unit in
the last significant figure: an answer is right when it rounds, at ``sig`` figures, to what the exact value
rounds to. Any answer given to ``sig`` figures or more is judged at ``sig`` figures.

The optional ``coarse`` field holds salted digests of the exact value rounded to each coarser precision
(1 to ``sig - 1`` figures; never the ``sig``-figure value rounded a second time), so a right answer given
with too few figures ("0.54%" when three figures are asked for 0.536 %) is told ``too coarse`` instead of
"not yet", and only when rounding the exact value to the answer's own figures gives it: 37.748736 asked to
four figures makes 37.7 too coarse, while 37.8 (the double rounding) stays wrong.

Known mistakes are keys too: ``check(answer, key, hint=..., mistakes={mistake_key: hint})``, each
mistake key made by ``make_key`` from the wrong value a typical slip produces (milliseconds never
converted, a factor of 2, r instead of alpha / r). A wrong answer that matches one gets that hint, before
any "too coarse" verdict (a known mistake is never "right as far as it goes").

Forms: ``number`` (a value within rounding at ``sig`` figures), ``percent`` (a share, accepted as a
fraction 0.0108, a percentage 1.08 or the string "1.08%"), ``fraction`` (a share whose prompt allows only a
fraction 0.0108 or the string "1.08%": a bare 1.08 is wrong, and told so), ``int`` (exact integer; ``sig``
only bounds the coarse digests), ``tuple`` (a tuple of integers, e.g. a shape; 100.9 is not an integer).

This hides answers from reading, not from a determined search over candidate values; the grader
(``lora-course grade``) does not trust these checks and recomputes everything outside the kernel.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import re
import secrets
from fractions import Fraction

from lora_course.validation import check_mapping, check_number

FORMS = ("number", "percent", "fraction", "int", "tuple")
SHARES = ("percent", "fraction")
CORRECT, WRONG, MISSING, INVALID, COARSE = "correct", "not yet", "not answered", "invalid", "too coarse"
_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}
_MAX_COARSE = 3          # int keys: coarse digests for 1 .. 3 figures (18.9M, 19M, 20M)


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
        # float's own repr: numpy 2 writes a np.float64 as 'np.float64(0.54)'
        return _mantissa_figures(float.__repr__(abs(float(answer)))) if math.isfinite(answer) else None
    if isinstance(answer, str):
        text = answer.strip().lower().replace(",", "").replace("_", "").replace(" ", "").rstrip("%")
        if text and text[-1] in _SUFFIX:
            text = text[:-1]
        if re.fullmatch(r"[-+]?\d+/\d+", text):
            return None
        return _mantissa_figures(text)
    if hasattr(answer, "__float__"):
        shown = _mantissa_figures(str(answer).strip().lower().lstrip("-"))    # a numpy float32 prints as typed
        return shown if shown is not None else answer_figures(float(answer))
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
    else:
        levels = range(1, sig)
    return sorted({f"{p}|{_canonical(_half_up(value, p), p)}" for p in levels})


def make_key(value, form: str = "number", sig: int = 3, salt: str | None = None, coarse: bool = True) -> str:
    """Answer key for ``value`` (for ``percent``, give the share as a fraction, e.g. 0.0108).

    ``coarse=False`` leaves out the coarse digests (mistake keys need none).
    """
    if form not in FORMS:
        raise ValueError(f"form: expected one of {FORMS}, got {form!r}")
    if isinstance(sig, bool) or not isinstance(sig, numbers.Integral) or not 1 <= sig <= 12:
        raise ValueError(f"sig: expected 1..12 significant figures, got {sig!r}")
    if form == "tuple":
        whole = isinstance(value, (tuple, list)) and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value)
        if not whole:
            raise ValueError(f"value: expected a tuple of whole numbers for a 'tuple' key, got {value!r:.60}")
    else:
        check_number("value", value)
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
    return _rounded(float(value), sig)


def _values(answer, form: str) -> list[float]:
    value, percent = parse_number(answer)
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {answer!r}")
    return [value / 100] if percent else ([value, value / 100] if form == "percent" else [value])


def _rounded(v: float, sig: int) -> str:
    """``v`` at ``sig`` figures, rounded half away from zero (half a unit in the last figure either side)."""
    return _canonical(_half_up(v, sig), sig)


def _shape(answer) -> tuple[int, ...]:
    """A tuple of integers (a shape; a list, a 1-d numpy array or whole floats such as 100.0 too); ValueError for
    anything else, 100.9 and True included."""
    if type(answer).__name__ == "ndarray" and getattr(answer, "ndim", None) == 1:
        answer = answer.tolist()
    if not isinstance(answer, (tuple, list)):
        raise ValueError(f"expected a tuple of integers such as (100, 3), got {type(answer).__name__}")
    for v in answer:
        whole = isinstance(v, float) or type(v).__name__.startswith("float")
        if isinstance(v, bool) or whole and not float(v).is_integer() or not whole and not isinstance(v, int) \
                and not type(v).__name__.startswith(("int", "uint")):
            raise ValueError(f"expected a tuple of integers such as (100, 3), got the entry {v!r}")
    return tuple(int(v) for v in answer)


def _candidates(answer, form: str, sig: int) -> list[str]:
    if form == "tuple":
        return [_text(_shape(answer), form, sig)]
    values = _values(answer, form)
    if form == "int":
        return [_text(values[0], form, sig)] if float(values[0]).is_integer() else []
    return [_rounded(v, sig) for v in values]


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
    return any(_digest(salt, f"{p}|{_canonical(v, p)}")[:8] in coarse for v in _values(answer, form))


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


def _bare_percentage(answer, key: str) -> bool:
    """A ``fraction`` key answered with a bare number of percent (0.536 for 0.536 %)."""
    _, form, sig, salt, digest, _ = _split(key)
    if form != "fraction" or isinstance(answer, str) and answer.strip().endswith("%"):
        return False
    try:
        return any(_digest(salt, _rounded(v / 100, sig)) == digest for v in _values(answer, form))
    except (ValueError, TypeError, OverflowError):
        return False


def diagnose(answer, key: str, hint: str = "", mistakes: dict[str, str] | None = None) -> tuple[str, str]:
    """(status, hint to show): a known mistake's hint when the answer matches one (checked before "too
    coarse", so a known mistake is never called right as far as it goes), else ``hint``."""
    status = evaluate(answer, key)
    if mistakes is not None:
        check_mapping("mistakes", mistakes)
    if status in (COARSE, WRONG):
        for mistake_key, mistake_hint in (mistakes or {}).items():
            if evaluate(answer, mistake_key) == CORRECT:
                return WRONG, mistake_hint
    if status == WRONG and _bare_percentage(answer, key):
        return status, "a bare number is read as a fraction: write the share as a fraction (0.0123) or as a " \
                       "string with a percent sign ('1.23%')"
    if status == COARSE:
        sig = _split(key)[2]
        figures = "the exact whole number" if _split(key)[1] == "int" else f"{sig} significant figures"
        return status, f"right as far as it goes, but the question asks for {figures}"
    if status != WRONG:
        return status, hint if status == INVALID else ""
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
        wanted = "a tuple of whole numbers, e.g. (100, 3)" if _split(key)[1] == "tuple" else \
            "a number (e.g. 0.25, '25%', '1.5M')"
        print(f"⚠️ {name}: could not read {answer!r}; give {wanted}.")
    elif status == COARSE:
        print(f"🔍 {name}: too coarse: {shown}.")
    else:
        print(f"❌ {name}: not yet." + (f" Hint: {shown}" if shown else ""))
