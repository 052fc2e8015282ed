"""One rule for numbers with units (bytes, parameter counts): round first, then pick the unit.

Picking the unit before rounding gives '1000 B' for 999.6 bytes and '1e+03k' for 999,999 parameters; here the
value is rounded to the shown figures first, and a value that rounds up to the next step moves to the next unit
('1 kB', '1M').
"""

from __future__ import annotations

import math

from lora_course.validation import check_number

FIGURES = 3


def _round_sig(x: float, figures: int) -> float:
    return float(f"{x:.{figures}g}") if x else 0.0


def _scaled(n: float, units: tuple[str, ...], step: float = 1000.0, figures: int = FIGURES,
           whole_first: bool = False, sep: str = "") -> str:
    """``n`` >= 0 in the largest unit of ``units`` (each ``step`` times the one before) that keeps it >= 1,
    decided after rounding to ``figures`` significant figures; ``whole_first`` shows the first unit as a whole
    number (bytes)."""
    value, i = float(n), 0
    while True:
        shown = float(round(value)) if whole_first and i == 0 else _round_sig(value, figures)
        if shown < step or i == len(units) - 1:
            break
        value, i = value / step, i + 1
    text = f"{shown:.0f}" if whole_first and i == 0 else f"{shown:.{figures}g}"
    if "e" in text:                                   # beyond the last unit: plain digits, never 1e+03
        text = f"{shown:,.0f}" if shown >= 1 else text
    return f"{text}{sep}{units[i]}"


def human_bytes(n: float) -> str:
    """Decimal units as the paper uses them: 350 GB, 37.7 MB; 999.6 bytes is '1 kB', never '1000 B'."""
    check_number("n", n, minimum=0, strict=False, what="a finite number of bytes")
    return _scaled(n, ("B", "kB", "MB", "GB", "TB", "PB"), whole_first=True, sep=" ")


def human_count(n: float) -> str:
    """Parameter counts the way papers write them: 18.9M, 175B, 98.3k; 999,999 is '1M', never '1e+03k'."""
    check_number("n", n, minimum=0, strict=False, what="a finite count")
    if n < 1000 and not math.isclose(_round_sig(float(n), FIGURES), 1000):
        return f"{_round_sig(float(n), FIGURES):.{FIGURES}g}"
    return _scaled(n, ("", "k", "M", "B", "T"))
