"""Tests for lora_course.support.svg_axes, svg_charts, svg_colormap (SVG charts) and live (the widget glue)."""

import base64
import re
import struct
import xml.etree.ElementTree as ET
import zlib

import numpy as np
import pytest

from lora_course.support.live import RUN_NOTE, legend_row, live_panel, text_block, wrap_output
from lora_course.support.svg_axes import Axis, nice_ticks, svg_text, tick_label
from lora_course.support.svg_charts import Series, barh_chart, heatmap, line_chart
from lora_course.support.svg_colormap import colormap, colormap_rgb, png_bytes


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)   # well-formed XML or this raises


def test_nice_ticks_linear_and_log():
    assert nice_ticks(0, 100) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(0, 24, max_ticks=5) == [0, 10, 20]
    assert nice_ticks(1e-3, 1e2, log=True) == [1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0]
    many = nice_ticks(1e-10, 1e10, log=True, max_ticks=7)
    assert len(many) <= 7 and all(np.isclose(np.log10(t) % 1, 0) for t in many)
    with pytest.raises(ValueError, match="lo, hi"):
        nice_ticks(1, 1)
    with pytest.raises(ValueError, match="lo"):
        nice_ticks(0, 10, log=True)


def test_tick_labels_and_markup():
    assert tick_label(0.5) == "0.5" and tick_label(1e6, log=True) == "10^{6}" and tick_label(100, log=True) == "100"
    assert "<tspan" in svg_text("W_{q}") and "&lt;" in svg_text("a < b")


def test_axis_maps_limits_to_0_and_1():
    lin = Axis(2, 4, "x")
    np.testing.assert_allclose(lin.fraction([2, 3, 4]), [0, 0.5, 1])
    log = Axis(1, 100, "y", log=True)
    np.testing.assert_allclose(log.fraction([1, 10, 100]), [0, 0.5, 1])
    assert np.isnan(log.fraction(0.0)) and np.isnan(log.fraction(-1.0))
    with pytest.raises(ValueError):
        Axis(1, 0, "bad")


def _polyline_points(svg: str) -> list[np.ndarray]:
    root = parse(svg)
    return [np.array([[float(v) for v in p.split(",")] for p in el.get("points").split()])
            for el in root.iter("{http://www.w3.org/2000/svg}polyline")]


def test_line_chart_puts_points_where_the_axes_say():
    x_axis, y_axis = Axis(0, 10, "x"), Axis(0, 1, "y")
    svg = line_chart([Series([0, 10], [0, 1], label="diag")], x_axis, y_axis, width=300, height=200)
    (points,) = _polyline_points(svg)
    left, top = 64, 28
    right, bottom = 300 - 14, 200 - 42
    np.testing.assert_allclose(points, [[left, bottom], [right, top]], atol=0.06)
    assert "diag" in svg


def test_axes_and_legend_do_not_depend_on_the_data():
    """What the eye should not see move: everything but the marks is identical for different data."""
    x_axis, y_axis = Axis(1, 32, "rank r", log=True), Axis(1e-3, 1e3, "size", log=True)

    def chart(scale):
        return line_chart([Series([1, 4, 32], np.array([0.01, 0.1, 1.0]) * scale, label="curve"),
                           Series([4], [0.1 * scale], line=False, marker=6)], x_axis, y_axis, title="t")

    def strip_marks(svg):
        return re.sub(r'<polyline[^>]*/>|<circle cx="[^"]*" cy="[^"]*" r="6"[^>]*/>', "", svg)

    a, b = chart(1.0), chart(50.0)
    assert a != b and strip_marks(a) == strip_marks(b)


def test_points_outside_a_log_axis_are_dropped_not_drawn_at_nan():
    svg = line_chart([Series([1, 2, 3], [1.0, -1.0, 10.0], marker=3)], Axis(1, 3, "x"), Axis(0.1, 100, "y", log=True))
    assert "nan" not in svg
    assert len(list(parse(svg).iter("{http://www.w3.org/2000/svg}circle"))) == 2


def test_line_chart_rejects_ragged_series():
    with pytest.raises(ValueError, match="equal length"):
        line_chart([Series([1, 2], [1.0])], Axis(0, 3, "x"), Axis(0, 3, "y"))


def test_barh_lengths_follow_a_fixed_log_axis():
    axis = Axis(1e8, 1e15, "bytes", log=True)
    svg = barh_chart(["full", "lora"], [1e15, 1e11], axis, texts=["1 PB", "100 GB"], width=600)
    widths = [float(r.get("width")) for r in parse(svg).iter("{http://www.w3.org/2000/svg}rect")
              if r.get("fill") != "white"]
    assert widths[1] == pytest.approx(widths[0] * 3 / 7, rel=1e-3)   # 10^3 of 10^7 decades
    with pytest.raises(ValueError, match="equal lengths"):
        barh_chart(["a"], [1.0, 2.0], axis)


def test_colormap_ends_and_clipping():
    assert colormap([0.0, 1.0]) == ["#440154", "#fde725"]
    assert colormap([-5.0, 7.0, np.nan]) == ["#440154", "#fde725", "#440154"]


def _decode_png(data: bytes) -> np.ndarray:
    """Just enough PNG reading for png_bytes' output: (rows, cols, 3) uint8."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + body)
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    cols, rows = struct.unpack(">II", chunks[b"IHDR"][:8])
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype=np.uint8).reshape(rows, 1 + 3 * cols)
    assert np.all(raw[:, 0] == 0)
    return raw[:, 1:].reshape(rows, cols, 3)


def test_png_bytes_round_trip():
    rgb = np.random.default_rng(0).integers(0, 256, size=(5, 7, 3)).astype(np.uint8)
    np.testing.assert_array_equal(_decode_png(png_bytes(rgb)), rgb)
    with pytest.raises(ValueError, match="rgb"):
        png_bytes(np.zeros((2, 2)))


def test_heatmap_has_one_pixel_per_entry_on_a_fixed_scale():
    values = np.arange(12.0).reshape(3, 4)
    svg = heatmap(values, 0.0, 11.0, colorbar="g")
    (image,) = parse(svg).iter("{http://www.w3.org/2000/svg}image")
    pixels = _decode_png(base64.b64decode(image.get("href").split(",", 1)[1]))
    assert pixels.shape == (3, 4, 3)
    assert colormap([0.0, 1.0]) == ["#440154", "#fde725"]
    np.testing.assert_array_equal(pixels[0, 0], [0x44, 0x01, 0x54])
    np.testing.assert_array_equal(pixels[2, 3], [0xfd, 0xe7, 0x25])
    np.testing.assert_array_equal(pixels, colormap_rgb(values / 11.0))
    same_scale = heatmap(values / 2, 0.0, 11.0, colorbar="g")
    assert same_scale != svg   # the colours follow the values on the one fixed scale
    with pytest.raises(ValueError, match="vmin"):
        heatmap(values, 1.0, 1.0)
    with pytest.raises(ValueError, match="2-D"):
        heatmap(np.zeros(3), 0.0, 1.0)


def test_text_block_reserves_its_height():
    block = text_block(["one"], min_lines=4)
    assert "min-height:5.00em" in block and text_block(["<b>"]).count("&lt;b&gt;") == 1
    assert 'data-kernel-ms="1.500"' in wrap_output("x", 1.5)
    assert "α" in legend_row([("α", "#000", None)])


def test_live_panel_updates_in_place_and_hides_its_repr():
    widgets = pytest.importorskip("ipywidgets")
    slider = widgets.IntSlider(value=1, min=1, max=5, continuous_update=False)
    toggle = widgets.ToggleButtons(options=["a", "b"])
    calls = []

    def render(r, name):
        calls.append((r, name))
        return f"<p>{name}{r}</p>"

    panel = live_panel({"r": slider, "name": toggle}, render)
    output = panel.children[-1]
    assert slider.continuous_update is True      # answers while dragged
    assert "<p>a1</p>" in output.value
    slider.value = 3
    toggle.value = "b"
    assert "<p>b3</p>" in output.value and calls[-1] == (3, "b")
    assert panel.children[-1] is output          # the same widget, updated in place
    def fragile(r):
        if r > 3:
            raise ValueError("r: too large for this test")
        return f"<p>{r}</p>"

    other = widgets.IntSlider(value=1, min=1, max=5)
    shown = live_panel({"r": other}, fragile)
    other.value = 4                              # an error after the first render shows in the panel
    assert "ValueError: r: too large" in shown.children[-1].value
    with pytest.raises(ValueError):              # ... but the first render fails the cell itself
        live_panel({"r": widgets.IntSlider(value=5, min=1, max=5)}, fragile)
    bundle = panel._repr_mimebundle_()
    assert bundle["text/plain"] == RUN_NOTE and "application/vnd.jupyter.widget-view+json" in bundle


WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _course_notebooks():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    return sorted(p for folder in ("solutions", "notebooks") for p in (root / folder).glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", _course_notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_stored_widget_outputs_show_a_note_not_a_repr(path):
    """Opened before it is run, a widget cell shows its stored text/plain: the one-line note, never a repr
    such as 'VBox(children=(...' (JupyterLab does not render widgets of an untrusted, not yet run notebook)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_MIME in data:
                assert data.get("text/plain") == RUN_NOTE, f"cell {i} ({cell.get('id')}): {data.get('text/plain')!r}"
