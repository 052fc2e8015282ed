"""Live widgets: plots drawn as SVG text and shown in one ``ipywidgets.HTML``, replaced in place on every change.

Why SVG in an HTML widget: re-drawing a matplotlib figure in the kernel cost 0.9-1.9 s per update of lesson
01's figure on a loaded 2-core machine, and updating its artists in place (``set_data``, what an ipympl canvas
re-rasterises and ships per ``draw_idle``) still about 1.1 s, because Agg redraws the whole canvas
(``benchmarks/plot_candidates.py``). Writing the SVG of our few lines and bars, with heatmaps as one inline
PNG of one pixel per entry, takes a few milliseconds; the browser draws it, and ipywidgets sends only the
new ``value`` of one widget, so no output is cleared and nothing on the page moves. No new dependency and no
JupyterLab extension beyond ipywidgets' own.

Every chart here has fixed axes (limits, ticks, units) and a fixed legend given by the caller, so an update
changes only the marks. The chart functions are pure (numbers in, SVG text out) and unit-tested;
``live_panel`` is the thin widget glue.
"""

from __future__ import annotations

import base64
import html
import math
import re
import struct
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from lora_course.support.plotting import PALETTE
from lora_course.validation import (
    InputError,
    InputTypeError,
    as_array,
    as_real,
    check_bool,
    check_callable,
    check_choice,
    check_int,
    check_mapping,
    check_number,
    check_positive_int,
    check_sequence,
    check_text,
)

RUN_NOTE = "Run this cell to get the interactive widget (it needs a running kernel)."
FONT = "font-family:'DejaVu Sans',Arial,sans-serif"
MARGIN = {"left": 64, "right": 14, "top": 28, "bottom": 42}
LEGEND_PLACES = ("upper left", "upper right", "lower left", "lower right")

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
            as_array("ticks", self.ticks, ndim=1)
        if self.tick_format is not None:
            check_callable("tick_format", self.tick_format)

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
class Series:
    """One line and/or set of markers: x, y of equal length, a colour and an optional legend label."""

    x: Sequence[float]
    y: Sequence[float]
    color: str = PALETTE[0]
    label: str | None = None
    dash: str | None = None          # SVG stroke-dasharray, e.g. "6 3"
    line: bool = True
    marker: float = 0.0              # marker radius in px (0: none)
    edge: str | None = None          # marker outline colour
    width: float = 2.0

    def __post_init__(self):
        """x and y: real 1-D of one length (NaN / inf / points off a log axis are dropped when drawn)."""
        x, y = as_real("x", self.x, ndim=1), as_real("y", self.y, ndim=1)
        if x.shape != y.shape:
            raise InputError(f"y: expected x and y of one equal length, got {x.shape} and {y.shape}")
        check_text("color", self.color)
        check_text("label", self.label, optional=True)
        check_text("dash", self.dash, optional=True)
        check_bool("line", self.line)
        check_number("marker", self.marker, minimum=0, strict=False, what="a radius in px")
        check_text("edge", self.edge, optional=True)
        check_number("width", self.width, minimum=0, what="a line width in px")


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


# ---------------------------------------------------------------------------------------------- charts
def line_chart(series: Sequence[Series], xaxis: Axis, yaxis: Axis, title: str = "", width: int = 380,
               height: int = 280, legend: str | None = "upper right", name: str = "line") -> str:
    """Lines and markers on fixed axes, as an SVG string. Points outside the axes are clipped."""
    _check_series(series)
    _check_axis("xaxis", xaxis)
    _check_axis("yaxis", yaxis)
    check_text("title", title)
    check_text("name", name)
    if legend is not None:
        check_choice("legend", legend, LEGEND_PLACES)
    frame = Frame(width, height)
    clip = f"lc-clip-{name}"
    parts = _frame_svg(frame, xaxis, yaxis, title)
    parts.append(f'<clipPath id="{clip}"><rect x="{frame.left}" y="{frame.top}" width="{frame.inner_width}" '
                 f'height="{frame.inner_height}"/></clipPath><g clip-path="url(#{clip})">')
    for s in series:
        x, y = np.asarray(s.x, dtype=float), np.asarray(s.y, dtype=float)    # checked by Series
        px, py = _px(frame, xaxis, yaxis, x, y)
        ok = np.isfinite(px) & np.isfinite(py)
        if s.line and ok.sum() >= 2:
            points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px[ok], py[ok], strict=True))
            dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
            parts.append(f'<polyline points="{points}" fill="none" stroke="{s.color}" stroke-width="{s.width}"'
                         f' stroke-linejoin="round"{dash}/>')
        if s.marker > 0:
            edge = f' stroke="{s.edge}" stroke-width="1.5"' if s.edge else ""
            parts.extend(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="{s.marker}" fill="{s.color}"{edge}/>'
                         for a, b in zip(px[ok], py[ok], strict=True))
    parts.append("</g>")
    if legend:
        parts += _legend(frame, [(s.label, s.color, s.dash, s.marker > 0) for s in series if s.label], legend)
    return _svg(frame, parts, name)


def _check_series(series) -> None:
    series = check_sequence("series", series)
    for i, s in enumerate(series):           # one check per curve, not per point
        if not isinstance(s, Series):
            raise InputTypeError(f"series[{i}]: expected a Series, got {type(s).__name__}")


def _check_axis(name: str, axis) -> None:
    if not isinstance(axis, Axis):
        raise InputTypeError(f"{name}: expected an Axis, got {axis!r:.60} ({type(axis).__name__})")


def _item_text(name: str, items, i: int) -> None:
    if not isinstance(items[i], str):
        raise InputTypeError(f"{name}[{i}]: expected a string, got {items[i]!r:.60} ({type(items[i]).__name__})")


def barh_chart(labels: Sequence[str], values: Sequence[float], xaxis: Axis, texts: Sequence[str] | None = None,
               colors: Sequence[str] | None = None, title: str = "", width: int = 640, height: int | None = None,
               name: str = "bars") -> str:
    """Horizontal bars (one per label, top to bottom) on a fixed x axis, each with an optional text at its end."""
    labels = check_sequence("labels", labels, min_len=1)
    values = as_array("values", values, ndim=1)
    _check_axis("xaxis", xaxis)
    if texts is not None:
        texts = check_sequence("texts", texts)
    if colors is not None:
        colors = check_sequence("colors", colors, min_len=1)
    check_text("title", title)
    check_text("name", name)
    if height is not None:
        check_positive_int("height", height)
    if len(labels) != len(values) or (texts is not None and len(texts) != len(labels)):
        raise InputError(f"labels, values, texts: expected equal lengths, got {len(labels)}, {len(values)}, "
                         f"{None if texts is None else len(texts)}")
    band = 30
    frame = Frame(width, height or MARGIN["top"] + MARGIN["bottom"] + band * len(labels),
                  {**MARGIN, "left": 130, "right": 16})
    parts = _frame_svg(frame, xaxis, None, title)
    colors = list(colors) if colors is not None else PALETTE
    base = float(xaxis.fraction(xaxis.lo if xaxis.log else max(0.0, xaxis.lo)))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        _item_text("labels", labels, i)
        if texts is not None:
            _item_text("texts", texts, i)
        _item_text("colors", colors, i % len(colors))
        y = frame.top + band * i + band * 0.2
        end = float(np.clip(np.nan_to_num(xaxis.fraction(value), nan=0.0), 0.0, 1.0))
        x0, x1 = frame.left + base * frame.inner_width, frame.left + end * frame.inner_width
        parts.append(f'<rect x="{x0:.1f}" y="{y:.1f}" width="{max(0.0, x1 - x0):.1f}" height="{band * 0.6:.1f}" '
                     f'fill="{colors[i % len(colors)]}"/>')
        parts.append(f'<text x="{frame.left - 6}" y="{y + band * 0.3 + 4:.1f}" text-anchor="end">'
                     f"{svg_text(label)}</text>")
        if texts is not None:
            inside = end > 0.82
            tx = x1 - 4 if inside else x1 + 4
            parts.append(f'<text x="{tx:.1f}" y="{y + band * 0.3 + 4:.1f}" text-anchor="{"end" if inside else "start"}"'
                         f' fill="{"white" if inside else "black"}">{svg_text(texts[i])}</text>')
    return _svg(frame, parts, name)


_VIRIDIS_ANCHORS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58",
                    "#b5de2b", "#fde725"]   # viridis at 0, 1/9, ..., 1


_VIRIDIS_RGB = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in _VIRIDIS_ANCHORS], dtype=float)


def colormap_rgb(fractions) -> np.ndarray:
    """Viridis colours as uint8 RGB, shape fractions.shape + (3,), for values in [0, 1] (clipped, NaN -> 0)."""
    fractions = as_real("fractions", fractions)
    shape = fractions.shape
    f = np.clip(np.nan_to_num(fractions.astype(float).ravel(), nan=0.0), 0.0, 1.0)
    pos = f * (len(_VIRIDIS_RGB) - 1)
    low = np.minimum(pos.astype(int), len(_VIRIDIS_RGB) - 2)
    t = (pos - low)[:, None]
    mixed = np.rint(_VIRIDIS_RGB[low] * (1 - t) + _VIRIDIS_RGB[low + 1] * t).astype(np.uint8)
    return mixed.reshape(*shape, 3)


def png_bytes(rgb: np.ndarray) -> bytes:
    """A (rows, cols, 3) uint8 image as PNG bytes (8-bit RGB, no filter): one pixel per matrix entry.

    Other integer arrays (a nested list) are accepted when every entry is in 0 .. 255."""
    rgb = as_real("rgb", rgb, ndim=3)
    if rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise InputError(f"rgb: expected shape (rows, cols, 3) with rows, cols >= 1, got {rgb.shape}")
    if rgb.dtype != np.uint8:
        if rgb.dtype.kind not in "iu" or rgb.min() < 0 or rgb.max() > 255:
            raise InputError(f"rgb: expected uint8 values (integers 0 .. 255), got dtype {rgb.dtype} "
                             f"with values in [{rgb.min()}, {rgb.max()}]")
        rgb = rgb.astype(np.uint8)
    rows, cols = rgb.shape[:2]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + rgb[i].tobytes() for i in range(rows))       # filter type 0 on every row
    header = struct.pack(">IIBBBBB", cols, rows, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def colormap(fractions) -> list[str]:
    """Viridis colours (hex) for values in [0, 1] (clipped, NaN -> 0), by linear interpolation between 10 anchors."""
    f = np.clip(np.nan_to_num(as_real("fractions", fractions).astype(float).ravel(), nan=0.0), 0.0, 1.0)
    rgb = _VIRIDIS_RGB
    pos = f * (len(rgb) - 1)
    low = np.minimum(pos.astype(int), len(rgb) - 2)
    t = (pos - low)[:, None]
    mixed = np.rint(rgb[low] * (1 - t) + rgb[low + 1] * t).astype(int)
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in mixed]


def heatmap(values: np.ndarray, vmin: float, vmax: float, title: str = "", xlabel: str = "", ylabel: str = "",
            colorbar: str | None = None, width: int = 330, height: int = 280, name: str = "heatmap") -> str:
    """A (rows, cols) grid of cells coloured on a fixed scale [vmin, vmax]; optional colour bar with a label."""
    values = as_array("values", values, ndim=2, allow_empty=False).astype(float, copy=False)
    vmin, vmax = check_number("vmin", vmin), check_number("vmax", vmax)
    if not vmax > vmin:
        raise InputError(f"vmin, vmax: expected vmin < vmax, got {vmin}, {vmax}")
    for label, text in (("title", title), ("xlabel", xlabel), ("ylabel", ylabel), ("name", name)):
        check_text(label, text)
    check_text("colorbar", colorbar, optional=True)
    rows, cols = values.shape
    frame = Frame(width, height, {**MARGIN, "left": 44, "right": 62 if colorbar else 12})
    xaxis = Axis(-0.5, cols - 0.5, xlabel, ticks=nice_ticks(0, cols - 1, max_ticks=5) if cols > 1 else [0])
    yaxis = Axis(-0.5, rows - 0.5, ylabel, ticks=nice_ticks(0, rows - 1, max_ticks=5) if rows > 1 else [0])
    parts = _frame_svg(frame, xaxis, None, title, grid=False)
    ch = frame.inner_height / rows
    # One pixel per entry, scaled up without smoothing: a few hundred bytes instead of rows * cols rectangles.
    image = base64.b64encode(png_bytes(colormap_rgb((values - vmin) / (vmax - vmin)))).decode("ascii")
    parts.append(f'<image class="lc-heatmap" x="{frame.left}" y="{frame.top}" width="{frame.inner_width}" '
                 f'height="{frame.inner_height}" preserveAspectRatio="none" style="image-rendering:pixelated" '
                 f'href="data:image/png;base64,{image}"/>')
    L, T, H = frame.left, frame.top, frame.inner_height
    for v in yaxis.tick_values():      # rows top to bottom, as in a matrix
        y = T + (v + 0.5) * ch
        parts.append(f'<text x="{L - 5}" y="{y + 4:.1f}" text-anchor="end">{v:g}</text>')
    parts.append(f'<text transform="translate(12,{T + H / 2:.1f}) rotate(-90)" text-anchor="middle">'
                 f"{svg_text(ylabel)}</text>")
    if colorbar:
        x = L + frame.inner_width + 10
        steps = 24
        for s, fill in enumerate(colormap(1 - np.arange(steps) / (steps - 1))):
            y = T + H * s / steps
            parts.append(f'<rect x="{x}" y="{y:.1f}" width="10" height="{H / steps + 0.4:.1f}" fill="{fill}"/>')
        for v in nice_ticks(vmin, vmax, max_ticks=5):
            y = T + H * (1 - (v - vmin) / (vmax - vmin))
            parts.append(f'<text x="{x + 13}" y="{y + 4:.1f}">{v:g}</text>')
        parts.append(f'<text transform="translate({width - 6},{T + H / 2:.1f}) rotate(-90)" text-anchor="middle">'
                     f"{svg_text(colorbar)}</text>")
    return _svg(frame, parts, name)


def side_by_side(*svgs: str) -> str:
    """Charts side by side (never wrapped, so nothing moves when one of them changes)."""
    try:
        body = "".join(svgs)
    except TypeError:                  # only on bad input: find the item to name
        bad = next(i for i, s in enumerate(svgs) if not isinstance(s, str))
        raise InputTypeError(f"svgs[{bad}]: expected an SVG string, got {type(svgs[bad]).__name__}") from None
    return '<div style="display:flex;gap:10px;flex-wrap:nowrap;align-items:flex-start">' + body + "</div>"


def legend_row(entries: Sequence[tuple[str, str, str | None]]) -> str:
    """A legend of (label, colour, dash) entries on one line below the charts (it never covers a curve);
    dash "dot" draws a marker instead of a line."""
    entries = check_sequence("entries", entries)
    items = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, (tuple, list)) or len(entry) != 3:
            raise InputTypeError(f"entries[{i}]: expected a (label, colour, dash) tuple, got {entry!r:.60}")
        label, color, dash = entry
        check_text(f"entries[{i}][0]", label)
        check_text(f"entries[{i}][1]", color)
        check_text(f"entries[{i}][2]", dash, optional=True)
        if dash == "dot":
            mark = f'<circle cx="13" cy="6" r="5" fill="{color}" stroke="black" stroke-width="1.5"/>'
        else:
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            mark = f'<line x1="1" y1="6" x2="25" y2="6" stroke="{color}" stroke-width="2"{dash_attr}/>'
        items.append(f'<span style="margin-right:18px;white-space:nowrap"><svg width="26" height="12">{mark}</svg> '
                     f"{html.escape(label)}</span>")
    return f'<div class="lc-legend" style="{FONT};font-size:12px;margin:2px 0 6px 64px">' + "".join(items) + "</div>"


def text_block(lines: Sequence[str], min_lines: int | None = None) -> str:
    """Monospace lines in a block of fixed height (``min_lines``), so the charts below it never move."""
    lines = check_sequence("lines", lines)
    if min_lines is not None:
        check_int("min_lines", min_lines, 0)
    n = max(len(lines), min_lines or 0)
    try:
        body = "\n".join(html.escape(line) for line in lines)
    except (AttributeError, TypeError):     # only on bad input: find the line to name
        bad = next(i for i, line in enumerate(lines) if not isinstance(line, str))
        raise InputTypeError(f"lines[{bad}]: expected a string, got {type(lines[bad]).__name__}") from None
    return f'<pre style="margin:0 0 6px 0;min-height:{1.25 * n:.2f}em;line-height:1.25em">{body}</pre>'


def wrap_output(body: str, kernel_ms: float) -> str:
    """The HTML of one update, tagged with the kernel time spent making it (read by the browser benchmark)."""
    check_text("body", body)
    kernel_ms = check_number("kernel_ms", kernel_ms, minimum=0, strict=False, what="a time in ms")
    return f'<div class="lc-live" data-kernel-ms="{kernel_ms:.3f}">{body}</div>'


# ---------------------------------------------------------------------------------------------- widget glue
def live_panel(controls: dict, render: Callable[..., str], min_height: str | None = None,
               arrange: Sequence | None = None):
    """Controls (name -> ipywidget with a ``value``) above one HTML output that ``render(**values)`` fills.

    Every value change re-renders in the kernel and replaces the HTML in place (sliders with
    continuous_update=True answer while dragged). ``arrange``: the widgets to show above the output instead
    of the controls one per line (e.g. an HBox of checkboxes). Returns a ``LivePanel`` (a VBox); display it.
    """
    import ipywidgets as widgets

    check_mapping("controls", controls)
    if not controls:
        raise InputError("controls: expected at least one control, got an empty dict")
    for name, control in controls.items():      # once per panel, not per update
        if not isinstance(name, str) or not name.isidentifier():
            raise InputError(f"controls: expected parameter names of render as keys, got {name!r}")
        if not (hasattr(control, "value") and callable(getattr(control, "observe", None))):
            raise InputTypeError(f"controls[{name!r}]: expected an ipywidget with a value, got "
                                 f"{type(control).__name__}")
    check_callable("render", render)
    check_text("min_height", min_height, optional=True)
    if arrange is not None:
        arrange = check_sequence("arrange", arrange)
        for i, item in enumerate(arrange):
            if not isinstance(item, widgets.Widget):
                raise InputTypeError(f"arrange[{i}]: expected an ipywidget, got {type(item).__name__}")

    class LivePanel(widgets.VBox):
        """A VBox whose text form, shown before the cell has run, is a one-line note instead of a repr."""

        def _repr_mimebundle_(self, **kwargs):
            data = super()._repr_mimebundle_(**kwargs)
            data["text/plain"] = RUN_NOTE
            return data

    output = widgets.HTML(layout=widgets.Layout(min_height=min_height or ""))

    def refresh(_change=None) -> None:
        start = time.perf_counter()
        try:
            body = render(**{name: control.value for name, control in controls.items()})
        except Exception as error:     # shown in the panel, where the student looks
            if _change is None:
                raise                  # the first render runs with the cell: let it fail there
            body = f'<pre style="color:#b00020">{html.escape(f"{type(error).__name__}: {error}")}</pre>'
        output.value = wrap_output(body, 1000 * (time.perf_counter() - start))

    for control in controls.values():
        if hasattr(control, "continuous_update"):
            control.continuous_update = True
        control.observe(refresh, names="value")
    refresh()
    panel = LivePanel([*(arrange if arrange is not None else controls.values()), output])
    panel.add_class("lc-live-panel")
    panel.refresh = refresh
    return panel
