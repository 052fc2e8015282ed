"""Lesson 02's and lesson 03's live widgets drawn three ways, for ``benchmarks/chart_candidates.py``.

Each builder returns a ``VBox`` of the lesson's controls above one output box (class ``lc-bench-out``) and
logs the kernel time of every update (the handler, from the new value to the last trait sent, messages to
the front end included) to a JSON-lines file. The three ways:

- ``svg``: our SVG text in one ``ipywidgets.HTML`` (``lora_course.support.svg_charts``), what the lessons use;
- ``bqplot``: bqplot ``Figure``s whose marks get new data (``Lines.y``, ``Scatter.x/y``, ``Bars.colors``);
- ``plotly``: one plotly ``FigureWidget`` whose traces get new data inside ``batch_update``. With two or more
  FigureWidgets in one notebook, all but the last one created rendered blank (no traces) and ignored every
  update here (plotly 7.1.0, anywidget 0.11.0, JupyterLab 4.6; plotly/plotly.py#4933), also when shown
  first on their own (the workaround of plotly/plotly.py#4998); so each lesson gets a notebook of its own.

Lesson 02: two log-log line charts (three scalings, a marker at the chosen r) driven by r, alpha and the
optimizer, the same numbers as the notebook's widget. Lesson 03's widget is text and a table; here its
table is drawn as a horizontal bar chart of the measured accuracies, the chosen configuration highlighted,
driven by the four target checkboxes and the rank slider (stand-in accuracies: the time depends on the
number of bars, not on their values).
"""

from __future__ import annotations

import json
import time

import ipywidgets as widgets
import numpy as np

from lora_course.lessons.l02_toy_regression import OPTIMIZERS, SCALINGS
from lora_course.lessons.l02_update_size import make_setup, rescale_sizes, size_limits, unit_scale_sizes
from lora_course.lessons.l03_targets import BUDGET_CONFIGS, config_name
from lora_course.lessons.l03_widget import budget_report
from lora_course.paper import TABLE6_RANKS
from lora_course.support.plotting import PALETTE

RANKS = list(range(1, 33))
ALPHAS = (1, 32)
DASH = {"none": "solid", "alpha_over_r": "dashed", "alpha_over_sqrt_r": "dotted"}
PLOTLY_DASH = {"none": "solid", "alpha_over_r": "dash", "alpha_over_sqrt_r": "dot"}
HIGHLIGHT, PLAIN = "#E69F00", "#0072B2"


def l02_data(seed: int = 2021) -> dict:
    """The lesson's numbers: sizes at scale 1 per optimizer (the slow part, once) and fixed axis limits."""
    setup = make_setup(seed=seed)
    units = {opt: unit_scale_sizes(setup, RANKS, optimizer=opt) for opt in OPTIMIZERS}
    return {"units": units, "limits": size_limits(units, RANKS, ALPHAS)}


def l03_data() -> dict[str, tuple[float, float]]:
    """config name -> (mean %, sd %) for the configurations lesson 03 runs (stand-in values)."""
    names = [config_name(t, r) for t, r in BUDGET_CONFIGS] + [config_name(("q", "v"), r) for r in TABLE6_RANKS]
    rng = np.random.default_rng(0)
    return {name: (float(rng.uniform(60, 90)), float(rng.uniform(0.5, 3))) for name in dict.fromkeys(names)}


def _panel(name: str, controls: dict, outputs: list, update, log_path: str):
    """Controls above the outputs; every value change runs ``update(**values)``, timed and logged."""
    def handler(_change=None):
        start = time.perf_counter()
        update(**{key: control.value for key, control in controls.items()})
        ms = 1000 * (time.perf_counter() - start)
        if _change is not None:
            with open(log_path, "a") as log:
                log.write(json.dumps({"panel": name, "ms": ms}) + "\n")

    for control in controls.values():
        control.observe(handler, names="value")
    handler()
    out = widgets.VBox(outputs)
    out.add_class("lc-bench-out")
    box = widgets.VBox([*controls.values(), out])
    box.add_class(f"lc-bench-{name}")
    return box


def l02_controls() -> dict:
    return {"r": widgets.IntSlider(value=4, min=1, max=32, description="rank r"),
            "alpha": widgets.IntSlider(value=4, min=ALPHAS[0], max=ALPHAS[1], description="alpha α"),
            "optimizer": widgets.ToggleButtons(options=list(OPTIMIZERS), description="optimizer")}


def l03_controls() -> dict:
    boxes = {t: widgets.Checkbox(value=t in ("q", "v"), description=f"W{t}", indent=False) for t in "qkvo"}
    return {**boxes, "r": widgets.SelectionSlider(options=[1, 2, 4, 8, 16, 32, 64], value=4, description="rank r")}


def _l02_values(data, r, alpha, optimizer):
    curves = rescale_sizes(data["units"][optimizer], RANKS, alpha, optimizer)
    return curves, RANKS.index(r)


def _l03_state(measured, r, **ticked):
    report = budget_report(tuple(t for t, on in ticked.items() if on), r, measured)
    colors = [HIGHLIGHT if name == report["name"] else PLAIN for name in measured]
    return report, colors, f"{report['name']}: {report['budget_share']:.2f}× the paper's budget"


def _titles(optimizer, alpha):
    return f"Size of the first {optimizer.upper()} step", f"Fraction of the way to Δ_true (α = {alpha})"


# ------------------------------------------------------------------------------------------------ SVG text
def svg_l02(data, log_path):
    from lora_course.support.live import side_by_side, text_block
    from lora_course.support.svg_axes import Axis
    from lora_course.support.svg_charts import Series, line_chart

    xaxis = Axis(1, 32, "rank r (log scale)", log=True, ticks=[1, 2, 4, 8, 16, 32])
    yaxes = {m: Axis(*data["limits"][m], m, log=True) for m in ("frobenius", "progress")}
    dashes = {"none": None, "alpha_over_r": "7 3", "alpha_over_sqrt_r": "2 3"}
    html = widgets.HTML()

    def update(r, alpha, optimizer):
        curves, i = _l02_values(data, r, alpha, optimizer)
        charts = []
        for metric, title in zip(("frobenius", "progress"), _titles(optimizer, alpha), strict=True):
            series = []
            for s, color in zip(SCALINGS, PALETTE[:len(SCALINGS)], strict=True):
                values = curves[s][metric]
                series += [Series(RANKS, values, color, dash=dashes[s]),
                           Series([r], [values[i]], color, line=False, marker=6, edge="black")]
            charts.append(line_chart(series, xaxis, yaxes[metric], title, 450, 320, legend=None, name=metric))
        html.value = side_by_side(*charts) + text_block([f"r = {r}"], min_lines=3)
    return _panel("svg-l02", l02_controls(), [html], update, log_path)


def svg_l03(measured, log_path):
    from lora_course.support.svg_axes import Axis
    from lora_course.support.svg_charts import barh_chart

    xaxis = Axis(0, 100, "toy accuracy %")
    html = widgets.HTML()
    names = list(measured)
    means = np.array([m for m, _ in measured.values()])

    def update(r, **ticked):
        _, colors, line = _l03_state(measured, r, **ticked)
        html.value = f"<p>{line}</p>" + barh_chart(names, means, xaxis, colors=colors, width=640)
    return _panel("svg-l03", l03_controls(), [html], update, log_path)


# ------------------------------------------------------------------------------------------------ bqplot
def bqplot_l02(data, log_path):
    import bqplot as bq

    xs = bq.LogScale(min=1, max=32)
    figures, marks = [], {}
    for metric in ("frobenius", "progress"):
        ys = bq.LogScale(min=data["limits"][metric][0], max=data["limits"][metric][1])
        lines = bq.Lines(x=RANKS, y=np.ones((3, len(RANKS))), scales={"x": xs, "y": ys}, colors=PALETTE[:3],
                         line_style="solid")
        dots = bq.Scatter(x=[1, 1, 1], y=[1, 1, 1], scales={"x": xs, "y": ys}, colors=PALETTE[:3],
                          stroke="black", default_size=48)
        axes = [bq.Axis(scale=xs, label="rank r", tick_values=[1, 2, 4, 8, 16, 32]),
                bq.Axis(scale=ys, orientation="vertical", label=metric)]
        fig = bq.Figure(marks=[lines, dots], axes=axes, animation_duration=0,
                        layout=widgets.Layout(width="450px", height="320px"))
        figures.append(fig)
        marks[metric] = (fig, lines, dots)
    text = widgets.HTML()

    def update(r, alpha, optimizer):
        curves, i = _l02_values(data, r, alpha, optimizer)
        for (metric, (fig, lines, dots)), title in zip(marks.items(), _titles(optimizer, alpha), strict=True):
            y = np.array([curves[s][metric] for s in SCALINGS])
            with lines.hold_sync(), dots.hold_sync():
                lines.y = y
                dots.x, dots.y = [r] * 3, y[:, i]
            fig.title = title
        text.value = f"<pre>r = {r}</pre>"
    return _panel("bqplot-l02", l02_controls(), [widgets.HBox(figures), text], update, log_path)


def bqplot_l03(measured, log_path):
    import bqplot as bq

    names = list(measured)
    xs, ys = bq.OrdinalScale(), bq.LinearScale(min=0, max=100)
    bars = bq.Bars(x=names, y=[m for m, _ in measured.values()], scales={"x": xs, "y": ys},
                   orientation="horizontal", colors=[PLAIN] * len(names))
    fig = bq.Figure(marks=[bars], axes=[bq.Axis(scale=xs, orientation="vertical"),
                                        bq.Axis(scale=ys, label="toy accuracy %")],
                    animation_duration=0, layout=widgets.Layout(width="640px", height="360px"))
    text = widgets.HTML()

    def update(r, **ticked):
        _, colors, line = _l03_state(measured, r, **ticked)
        bars.colors = colors
        text.value = f"<p>{line}</p>"
    return _panel("bqplot-l03", l03_controls(), [text, fig], update, log_path)


# ------------------------------------------------------------------------------------------------ plotly
def plotly_l02(data, log_path):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    base = make_subplots(rows=1, cols=2, subplot_titles=_titles("sgd", 4))
    for col, metric in enumerate(("frobenius", "progress"), start=1):
        for s, color in zip(SCALINGS, PALETTE[:len(SCALINGS)], strict=True):
            base.add_trace(go.Scatter(x=RANKS, y=np.ones(len(RANKS)), mode="lines", showlegend=False,
                                      line={"color": color, "dash": PLOTLY_DASH[s]}), row=1, col=col)
        base.add_trace(go.Scatter(x=[1] * 3, y=[1] * 3, mode="markers", showlegend=False,
                                  marker={"color": PALETTE[:3], "size": 10, "line": {"color": "black", "width": 1}}),
                       row=1, col=col)
        lo, hi = data["limits"][metric]
        base.update_xaxes(type="log", range=[0, np.log10(32)], title_text="rank r", row=1, col=col)
        base.update_yaxes(type="log", range=[np.log10(lo), np.log10(hi)], title_text=metric, row=1, col=col)
    base.update_layout(width=920, height=340, margin={"l": 60, "r": 10, "t": 40, "b": 40})
    fig = go.FigureWidget(base)
    text = widgets.HTML()

    def update(r, alpha, optimizer):
        curves, i = _l02_values(data, r, alpha, optimizer)
        with fig.batch_update():
            for k, metric in enumerate(("frobenius", "progress")):
                y = [curves[s][metric] for s in SCALINGS]
                for j in range(3):
                    fig.data[4 * k + j].y = y[j]
                fig.data[4 * k + 3].x, fig.data[4 * k + 3].y = [r] * 3, [v[i] for v in y]
            for annotation, title in zip(fig.layout.annotations, _titles(optimizer, alpha), strict=True):
                annotation.text = title
        text.value = f"<pre>r = {r}</pre>"
    return _panel("plotly-l02", l02_controls(), [fig, text], update, log_path)


def plotly_l03(measured, log_path):
    import plotly.graph_objects as go

    names = list(measured)
    fig = go.FigureWidget(go.Bar(x=[m for m, _ in measured.values()], y=names, orientation="h",
                                 marker={"color": [PLAIN] * len(names)}))
    fig.update_layout(width=640, height=360, margin={"l": 90, "r": 10, "t": 10, "b": 40},
                      xaxis={"range": [0, 100], "title": {"text": "toy accuracy %"}})
    text = widgets.HTML()

    def update(r, **ticked):
        _, colors, line = _l03_state(measured, r, **ticked)
        fig.data[0].marker.color = colors
        text.value = f"<p>{line}</p>"
    return _panel("plotly-l03", l03_controls(), [text, fig], update, log_path)


BUILDERS = {("svg", "l02"): svg_l02, ("svg", "l03"): svg_l03, ("bqplot", "l02"): bqplot_l02,
            ("bqplot", "l03"): bqplot_l03, ("plotly", "l02"): plotly_l02, ("plotly", "l03"): plotly_l03}
