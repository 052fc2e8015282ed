"""SVG chart frames: escaped labels, tick positions and labels, fixed axes, the pixel frame, the legend box.

The parts of a chart that never change when its marks do (``lora_course.support.svg_charts`` draws the marks).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from lora_course.validation import (
    InputError,
    InputTypeError,
    as_array,
    as_real,
    check_bool,
    check_callable,
    check_mapping,
    check_number,
    check_positive_int,
    check_sequence,
    check_text,
)

FONT = "font-family:'DejaVu Sans',Arial,sans-serif"
MARGIN = {"left": 64, "right": 14, "top": 28, "bottom": 42}

# The checks below run on every slider move: type and shape tests at entry, array contents scanned by numpy
# (one vectorised pass), never a Python loop over entries.


# ---------------------------------------------------------------------------------------------- text and ticks
def svg_text(label: str) -> str:
    """Escape ``label`` for SVG; ``_{..}`` and ``^{..}`` become sub- and superscripts."""
    out = html.escape(check_text("label", label))
    out = re.sub(r"_\{([^}]*)\}", r'<tspan baseline-shift="sub" font-size="75%">\1</tspan>', out)
    return re.sub(r"\^\{([^}]*)\}", r'<tspan baseline-shift="super" font-size="75%">\1</tspan>', out)


def nice_ticks(lo: float, hi: float, log: bool = False, max_ticks: int = 7) -> list[float]:
    """Tick positions inside [lo, hi]: powers of ten on a log axis, steps of 1, 2 or 5 x 10^n on a linear one."""
    lo, hi = check_number("lo", lo), check_number("hi", hi)
    log = check_bool("log", log)
    max_ticks = check_positive_int("max_ticks", max_ticks)
    if not hi > lo:
        raise InputError(f"lo, hi: expected finite numbers with lo < hi, got {lo}, {hi}")
    if log:
        if lo <= 0:
            raise InputError(f"lo: expected a positive lower limit on a log axis, got {lo}")
        first, last = math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9)
        step = max(1, math.ceil((last - first + 1) / max_ticks))
        return [10.0 ** e for e in range(first, last + 1, step)]
    raw = (hi - lo) / max(1, max_ticks - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step - 1e-9)
    return [round(i * step, 12) for i in range(first, math.floor(hi / step + 1e-9) + 1)]


def tick_label(value: float, log: bool = False) -> str:
    """'0.5', '20', '10^{-3}' (a log axis far from 1 uses powers of ten)."""
    value = check_number("value", value)
    if check_bool("log", log) and value <= 0:
        raise InputError(f"value: expected a positive number on a log axis, got {value!r}")
    if log and (value < 1e-2 or value >= 1e4):
        return f"10^{{{round(math.log10(value))}}}"
    return f"{value:g}"


@dataclass(frozen=True)
class Axis:
    """One fixed axis: limits, scale, label (with units) and optional tick labels (value -> text)."""

    lo: float
    hi: float
    label: str
    log: bool = False
    ticks: Sequence[float] | None = None
    tick_format: Callable[[float], str] | None = None

    def __post_init__(self):
        nice_ticks(self.lo, self.hi, self.log)  # validates the limits and log
        check_text("label", self.label)
        if self.ticks is not None:
            if not isinstance(self.ticks, np.ndarray):
                check_sequence("ticks", self.ticks)
            ticks = as_array("ticks", self.ticks, ndim=1)
            low, high = min(self.lo, self.hi), max(self.lo, self.hi)
            outside = ticks[(ticks < low - 1e-9 * (high - low)) | (ticks > high + 1e-9 * (high - low))]
            if outside.size:
                raise InputError(f"ticks: expected values within the axis [{low:g}, {high:g}], got {outside.tolist()}")
        if self.tick_format is not None:
            check_callable("tick_format", self.tick_format, (0.0,))

    def fraction(self, values) -> np.ndarray:
        """Where ``values`` lie between lo (0) and hi (1); NaN where a log axis gets a value <= 0 (NaN stays NaN)."""
        v = as_real("values", values).astype(float, copy=False)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                v = np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), np.nan)
            return (v - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        return (v - self.lo) / (self.hi - self.lo)

    def tick_values(self) -> list[float]:
        return list(self.ticks) if self.ticks is not None else nice_ticks(self.lo, self.hi, self.log)

    def tick_text(self, value: float) -> str:
        """The label of the tick at ``value``: ``tick_format(value)`` if given, else ``tick_label``."""
        if not self.tick_format:
            return tick_label(value, self.log)
        check_number("value", value)
        text = self.tick_format(value)
        if not isinstance(text, str):
            raise InputTypeError(f"tick_format: expected a function returning a string, got {type(text).__name__}")
        return text


@dataclass(frozen=True)
class Frame:
    """Pixel geometry of one chart: outer size and the plot rectangle inside the margins."""

    width: int
    height: int
    margin: dict = field(default_factory=lambda: dict(MARGIN))

    def __post_init__(self):
        check_positive_int("width", self.width)
        check_positive_int("height", self.height)
        check_mapping("margin", self.margin, MARGIN)
        for side in MARGIN:                   # four numbers, not data
            check_number(f"margin[{side!r}]", self.margin[side], minimum=0, strict=False, what="a margin in px")
        if self.inner_width <= 0:
            raise InputError(f"width: expected more than the left and right margins "
                             f"({self.margin['left'] + self.margin['right']} px), got {self.width}")
        if self.inner_height <= 0:
            raise InputError(f"height: expected more than the top and bottom margins "
                             f"({self.margin['top'] + self.margin['bottom']} px), got {self.height}")

    @property
    def left(self) -> float:
        return self.margin["left"]

    @property
    def top(self) -> float:
        return self.margin["top"]

    @property
    def inner_width(self) -> float:
        return self.width - self.margin["left"] - self.margin["right"]

    @property
    def inner_height(self) -> float:
        return self.height - self.margin["top"] - self.margin["bottom"]


def _px(frame: Frame, xaxis: Axis, yaxis: Axis, x, y) -> tuple[np.ndarray, np.ndarray]:
    px = frame.left + xaxis.fraction(x) * frame.inner_width
    py = frame.top + (1.0 - yaxis.fraction(y)) * frame.inner_height
    return px, py


def _frame_svg(frame: Frame, xaxis: Axis | None, yaxis: Axis | None, title: str, grid: bool = True) -> list[str]:
    """Axes box, ticks, tick labels, axis labels and title (the parts that never change)."""
    L, T, W, H = frame.left, frame.top, frame.inner_width, frame.inner_height
    parts = [f'<rect x="{L}" y="{T}" width="{W}" height="{H}" fill="white" stroke="#444" stroke-width="1"/>']
    if xaxis is not None:
        for v in xaxis.tick_values():
            x = L + float(xaxis.fraction(v)) * W
            if grid:
                parts.append(f'<line x1="{x:.1f}" y1="{T}" x2="{x:.1f}" y2="{T + H}" stroke="#ddd"/>')
            parts.append(f'<line x1="{x:.1f}" y1="{T + H}" x2="{x:.1f}" y2="{T + H + 4}" stroke="#444"/>')
            parts.append(f'<text x="{x:.1f}" y="{T + H + 16}" text-anchor="middle">{svg_text(xaxis.tick_text(v))}'
                         "</text>")
        parts.append(f'<text x="{L + W / 2:.1f}" y="{frame.height - 6}" text-anchor="middle">'
                     f"{svg_text(xaxis.label)}</text>")
    if yaxis is not None:
        for v in yaxis.tick_values():
            y = T + (1.0 - float(yaxis.fraction(v))) * H
            if grid:
                parts.append(f'<line x1="{L}" y1="{y:.1f}" x2="{L + W}" y2="{y:.1f}" stroke="#ddd"/>')
            parts.append(f'<line x1="{L - 4}" y1="{y:.1f}" x2="{L}" y2="{y:.1f}" stroke="#444"/>')
            parts.append(f'<text x="{L - 6}" y="{y + 4:.1f}" text-anchor="end">{svg_text(yaxis.tick_text(v))}</text>')
        parts.append(f'<text transform="translate(13,{T + H / 2:.1f}) rotate(-90)" text-anchor="middle">'
                     f"{svg_text(yaxis.label)}</text>")
    parts.append(f'<text x="{L + W / 2:.1f}" y="17" text-anchor="middle" font-weight="bold">{svg_text(title)}</text>')
    return parts


def _svg(frame: Frame, parts: list[str], name: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="lc-chart" data-chart="{html.escape(name)}" '
            f'width="{frame.width}" height="{frame.height}" viewBox="0 0 {frame.width} {frame.height}" '
            f'style="{FONT};font-size:11px;flex:none">' + "".join(parts) + "</svg>")


def _legend(frame: Frame, entries: list[tuple[str, str, str | None, bool]], where: str) -> list[str]:
    """(label, colour, dash, marker) rows in a box at 'upper left' / 'upper right' / 'lower left' / 'lower right'."""
    if not entries:
        return []
    row, width = 15, 30 + 6.3 * max(len(re.sub(r"[_^]\{([^}]*)\}", r"\1", e[0])) for e in entries)
    x0 = frame.left + 6 if "left" in where else frame.left + frame.inner_width - width - 6
    y0 = frame.top + 6 if "upper" in where else frame.top + frame.inner_height - row * len(entries) - 8
    parts = [f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{width:.1f}" height="{row * len(entries) + 4}" '
             'fill="white" fill-opacity="0.85" stroke="#bbb"/>']
    for i, (label, color, dash, marker) in enumerate(entries):
        y = y0 + 10 + i * row
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<line x1="{x0 + 4:.1f}" y1="{y:.1f}" x2="{x0 + 24:.1f}" y2="{y:.1f}" stroke="{color}" '
                     f'stroke-width="2"{dash_attr}/>')
        if marker:
            parts.append(f'<circle cx="{x0 + 14:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>')
        parts.append(f'<text x="{x0 + 28:.1f}" y="{y + 4:.1f}">{svg_text(label)}</text>')
    return parts
