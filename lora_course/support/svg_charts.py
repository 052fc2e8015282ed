"""SVG charts on fixed axes: lines and markers, horizontal bars, heatmaps (numbers in, SVG text out).

Used by the live widgets (``lora_course.support.live``); the frame, ticks and legend come from
``lora_course.support.svg_axes``, the heatmap colours from ``lora_course.support.svg_colormap``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lora_course.support.plotting import PALETTE
from lora_course.support.svg_axes import MARGIN, Axis, Frame, _frame_svg, _legend, _px, _svg, nice_ticks, svg_text
from lora_course.support.svg_colormap import colormap, colormap_rgb, png_bytes
from lora_course.validation import (
    InputError,
    InputTypeError,
    as_array,
    as_real,
    check_bool,
    check_choice,
    check_number,
    check_positive_int,
    check_sequence,
    check_text,
)

LEGEND_PLACES = ("upper left", "upper right", "lower left", "lower right")


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
