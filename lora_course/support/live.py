"""Live widgets: plots drawn as SVG text and shown in one ``ipywidgets.HTML``, replaced in place on every change.

Why SVG in an HTML widget: re-drawing a matplotlib figure in the kernel cost 0.9-1.9 s per update of lesson
01's figure on a loaded 2-core machine, and updating its artists in place (``set_data``, what an ipympl canvas
re-rasterises and ships per ``draw_idle``) still about 1.1 s, because Agg redraws the whole canvas
(``benchmarks/plot_candidates.py``). Writing the SVG of our few lines and bars, with heatmaps as one inline
PNG of one pixel per entry, takes a few milliseconds; the browser draws it, and ipywidgets sends only the
new ``value`` of one widget, so no output is cleared and nothing on the page moves. No new dependency and no
JupyterLab extension beyond ipywidgets' own. Against bqplot and plotly's ``FigureWidget`` on lessons 02 and 03
neither library was faster from input to redrawn output (ours was faster on lesson 02's charts), and both
add to the install (docs/architecture.md, "Why these charts"; ``benchmarks/chart_candidates.py``).

Every chart (``lora_course.support.svg_charts``, framed by ``svg_axes``, coloured by ``svg_colormap``) has
fixed axes (limits, ticks, units) and a fixed legend given by the caller, so an update changes only the marks.
The chart functions are pure (numbers in, SVG text out) and unit-tested; this module holds the layout pieces
around them (charts side by side, a legend row, a text block of fixed height) and ``live_panel``, the thin
widget glue.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Sequence

from lora_course.support.svg_axes import FONT
from lora_course.validation import (
    InputError,
    InputTypeError,
    check_callable,
    check_int,
    check_mapping,
    check_number,
    check_sequence,
    check_text,
)

RUN_NOTE = "Run this cell to get the interactive widget (it needs a running kernel)."


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
    check_callable("render", render, kwargs={name: control.value for name, control in controls.items()})
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
            if not isinstance(body, str):
                raise InputTypeError(f"render: expected render(...) to return an HTML string, got "
                                     f"{type(body).__name__}")
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
