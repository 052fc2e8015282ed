"""Drive one notebook in JupyterLab through Playwright, the way a student would.

Commands go through the command palette (Ctrl+Shift+C); state is read from the live JupyterLab
application, which the test server exposes as ``window.jupyterapp`` (``--LabApp.expose_app_in_browser``).
Cells are addressed by their index in the notebook, which is also their index in the .ipynb file.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

# What a student sees when a widget does not render: the placeholder, a front-end error, or the
# Python repr that JupyterLab shows when no widget manager is installed ("IntSlider(value=4, ...)").
WIDGET_TEXT_FAILURES = re.compile(
    r"Loading widget\.\.\.|Error displaying widget|\b[A-Z]?[a-z]*[A-Za-z]*\((children|value|description|options)="
)

# JavaScript run in the page: each is one function of one argument object, wrapped by _js() so that it
# can use the helpers: current(path) is the notebook panel of `path`; snapshot() is what the outputs of
# all cells show apart from the widget controls (text and image sources): a slider may drive an output
# displayed in another cell (interactive_output), so the whole notebook is watched.
_JS_HELPERS = """
const current = (path) => {
  const w = window.jupyterapp && window.jupyterapp.shell && window.jupyterapp.shell.currentWidget;
  return w && w.context && w.context.path === path && w.content && w.content.model ? w : null;
};
const snapshot = () => {
  const controls = ['.widget-slider', '.widget-readout', '.widget-checkbox', '.widget-dropdown',
                    '.widget-toggle-buttons', '.widget-text', '.widget-button'];
  const texts = [], images = [];
  for (const area of document.querySelectorAll('[data-lc-cell] .jp-Cell-outputArea')) {
    const copy = area.cloneNode(true);
    copy.querySelectorAll(controls.join(', ')).forEach(e => e.remove());
    texts.push(copy.textContent.replace(/\\s+/g, ' ').trim());
    images.push(...[...copy.querySelectorAll('img')].map(i => i.src));
    images.push(...[...copy.querySelectorAll('svg.lc-chart')].map(s => s.innerHTML));  // live SVG charts
  }
  return {text: texts.join('\\n'), images};
};
"""


def _js(function: str) -> str:
    return f"(arg) => {{\n{_JS_HELPERS}\nreturn ({function.strip()})(arg);\n}}"


JS_READY = _js("""
({path, ncells}) => {
  const w = current(path);
  if (!w || !w.context.isReady || w.content.widgets.length !== ncells) return false;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle';
}
""")

JS_PREPARE = _js("""
({path}) => {
  const w = current(path);
  window.jupyterapp.shell.collapseLeft();
  window.jupyterapp.shell.collapseRight();
  w.content.widgets.forEach((cell, i) => cell.node.setAttribute('data-lc-cell', String(i)));
  return true;
}
""")

# Make the notebook the current widget again (a command such as 'Run All Cells' is enabled only for it).
JS_ACTIVATE = _js("""
({path}) => {
  const w = current(path);
  if (w) { window.jupyterapp.shell.activateById(w.id); }
  return !!w;
}
""")

JS_APP_READY = "async () => { await window.jupyterapp.restored; return !!window.jupyterapp.shell; }"

JS_OPEN = "async ({path}) => { await window.jupyterapp.commands.execute('docmanager:open', {path}); return true; }"

# Close the tab without the "save your changes?" dialog: the run's outputs must not reach the disk.
JS_CLOSE = _js("""
({path}) => {
  const w = current(path);
  if (w) { w.context.model.dirty = false; w.dispose(); }
  return true;
}
""")

JS_CLEARED = _js("""
({path}) => {
  const cells = current(path).content.model.cells;
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type === 'code' && (c.executionCount !== null || c.outputs.length > 0)) return false;
  }
  return true;
}
""")

# Done = the kernel is idle, no cell is queued or running, and either every non-empty code cell has a
# fresh execution count or a cell that may not raise has raised (JupyterLab then skips the rest).
JS_RUN_FINISHED = _js("""
({path, allowed}) => {
  const w = current(path);
  if (!w) return false;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  if ([...w.content.node.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'))) return false;
  const cells = w.content.model.cells;
  let unexecuted = false, fatal = false;
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    if (c.executionState === 'running') return false;
    if (!c.sharedModel.getSource().trim()) continue;
    if (c.executionCount === null) unexecuted = true;
    for (let j = 0; j < c.outputs.length; j++) {
      if (c.outputs.get(j).type === 'error' && !allowed.includes(i)) fatal = true;
    }
  }
  return fatal || !unexecuted;
}
""")

JS_NOTEBOOK_JSON = _js("({path}) => current(path).context.model.toJSON()")

JS_OUTPUT_SNAPSHOT = _js("() => snapshot()")

# The interact output is cleared, then redrawn: wait for the redraw, not for the blank in between.
JS_OUTPUT_CHANGED = _js("""
({before}) => {
  const now = snapshot();
  const same = now.text === before.text && now.images.join('|') === before.images.join('|');
  return !same && now.images.length >= before.images.length && (now.text.length > 0 || before.text.length === 0);
}
""")

# The notebook scrolls inside .jp-WindowedPanel-outer; the page itself never scrolls.
JS_CONTENT_HEIGHT = _js("""
({path}) => {
  const node = current(path).content.node;
  const scroller = node.querySelector('.jp-WindowedPanel-outer') || node;
  const box = scroller.getBoundingClientRect();
  return {top: box.top, below: window.innerHeight - box.bottom, content: scroller.scrollHeight};
}
""")

JS_FITS = _js("""
({path, want}) => {
  const node = current(path).content.node;
  const scroller = node.querySelector('.jp-WindowedPanel-outer') || node;
  scroller.scrollTop = 0;
  return scroller.scrollTop === 0 && scroller.clientHeight >= Math.min(want, scroller.scrollHeight);
}
""")


def _timeout_error() -> type[Exception]:
    """Playwright's TimeoutError, imported late: this module must import without playwright installed."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    return PlaywrightTimeoutError


@dataclass
class SliderMove:
    """One keyboard move of one slider; ``seconds`` until an output changed (None: it never did)."""

    cell: int
    label: str
    key: str
    value_before: str
    value_after: str
    seconds: float | None


def open_lab(page, server, timeout_s: float = 60.0) -> None:
    """Load JupyterLab (a fresh workspace) in ``page`` and wait until it has started."""
    page.goto(server.url("lab?reset"))
    page.wait_for_function("() => !!window.jupyterapp", timeout=timeout_s * 1000, polling=100)
    page.evaluate(JS_APP_READY)


class LabNotebook:
    """One notebook tab in a loaded JupyterLab (see ``open_lab``).

    ``path`` is relative to the server's root, e.g. 'solutions/00_x.ipynb'; ``ncells`` is its cell count.
    """

    def __init__(self, page, server, path: str, ncells: int):
        self.page = page
        self.server = server
        self.path = path
        self.ncells = ncells

    def open(self, timeout_s: float = 90.0) -> float:
        """Open the notebook (as a double click in the file browser does), wait for an idle kernel; seconds."""
        start = time.monotonic()
        self.page.evaluate(JS_OPEN, {"path": self.path})
        self.page.wait_for_function(JS_READY, arg={"path": self.path, "ncells": self.ncells},
                                    timeout=timeout_s * 1000, polling=100)
        self.page.evaluate(JS_PREPARE, {"path": self.path})
        return time.monotonic() - start

    def close(self) -> None:
        """Close the tab, discarding the run's outputs, and shut its kernel down."""
        self.page.evaluate(JS_CLOSE, {"path": self.path})
        self.server.shutdown_kernels_of(self.path)

    def palette(self, label: str, attempts: int = 4) -> None:
        """Run the command called exactly ``label`` from the command palette.

        A busy machine can leave the palette's list stale right after another command (the command shows as
        disabled, or not at all, or turns disabled between being found and being clicked); each retry closes the
        palette, makes the notebook current again and reopens it.
        """
        items = self.page.locator(".lm-CommandPalette-item:not(.lm-mod-disabled)")
        match = items.filter(has=self.page.locator(".lm-CommandPalette-itemLabel", has_text=re.compile(
            rf"^\s*{re.escape(label)}\s*$")))
        seen: list[str] = []
        for attempt in range(attempts):
            if attempt:
                self.page.keyboard.press("Escape")
                self.page.evaluate(JS_ACTIVATE, {"path": self.path})
                self.page.wait_for_timeout(1_000)
            self.page.keyboard.press("Control+Shift+C")
            search = self.page.locator(".lm-CommandPalette-input")
            try:           # a busy page can miss the shortcut, or take it as closing a palette it still shows
                search.wait_for(state="visible", timeout=10_000)
            except _timeout_error():
                seen = ["(the palette did not open)"]
                continue
            search.fill(label)
            try:
                match.first.wait_for(state="visible", timeout=5_000)
            except _timeout_error():  # say what the palette offered instead
                seen = items.all_inner_texts()
                continue
            try:        # the list can still change under the pointer (the command turns disabled a moment)
                match.first.click(timeout=5_000)
            except _timeout_error():
                seen = items.all_inner_texts() or ["(the command vanished before the click)"]
                continue
            return
        self.page.keyboard.press("Escape")
        raise AssertionError(f"command palette: expected an enabled command {label!r} ({attempts} tries), "
                             f"found {seen}")

    def clear_all_outputs(self) -> None:
        """Clear every cell's output and execution count (so finished runs are recognisable)."""
        self.palette("Clear Outputs of All Cells")
        self.page.wait_for_function(JS_CLEARED, arg={"path": self.path}, timeout=10_000, polling=100)

    def run_all(self, allowed_errors: set[int], timeout_s: float) -> float:
        """'Run All Cells' and wait until the kernel is idle and the run is over; return the seconds."""
        start = time.monotonic()
        self.palette("Run All Cells")
        self.page.wait_for_function(JS_RUN_FINISHED, arg={"path": self.path, "allowed": sorted(allowed_errors)},
                                    timeout=timeout_s * 1000, polling=100)
        return time.monotonic() - start

    def notebook_json(self) -> dict:
        """The notebook as JupyterLab holds it now (nbformat JSON, live outputs included)."""
        return self.page.evaluate(JS_NOTEBOOK_JSON, {"path": self.path})

    def cell(self, index: int):
        return self.page.locator(f'[data-lc-cell="{index}"]')

    def output_texts(self, index: int) -> list[str]:
        return self.cell(index).locator(".jp-OutputArea-output").all_inner_texts()

    def wait_for_widget(self, index: int, timeout_s: float = 15.0) -> bool:
        """Wait until a rendered ipywidget appears in the outputs of cell ``index``; False if none does."""
        try:
            self.cell(index).locator(".jp-OutputArea .jupyter-widgets").first.wait_for(
                state="attached", timeout=timeout_s * 1000)
            return True
        except _timeout_error():
            return False

    def widget_problems(self, widget_cells: list[int], timeout_s: float = 5.0) -> list[str]:
        """What a student would see instead of widgets: a missing widget in one of ``widget_cells`` (cells
        whose outputs hold a widget view), or a placeholder / Python repr text in any output."""
        problems = [f"cell {i}: no rendered widget" for i in widget_cells if not self.wait_for_widget(i, timeout_s)]
        for i in range(self.ncells):
            for text in self.output_texts(i):
                match = WIDGET_TEXT_FAILURES.search(text)
                if match:
                    problems.append(f"cell {i}: widget shown as text: {text[max(0, match.start() - 10):][:80]!r}")
        return problems

    def sliders(self, index: int) -> list[tuple[str, object]]:
        """(label, slider locator) for every slider widget in cell ``index``."""
        found = []
        for slider in self.cell(index).locator(".jp-OutputArea .widget-slider").all():
            label = slider.locator(".widget-label").first
            found.append(((label.inner_text() if label.count() else "").strip(), slider))
        return found

    def move_slider(self, index: int, label: str, slider, timeout_s: float = 30.0) -> SliderMove:
        """Focus the slider's handle, press one arrow key, time how long until an output changes.

        Gives up after ``timeout_s``; the caller judges the time against a generous limit.
        """
        handle = slider.locator(".noUi-handle").first
        now = handle.get_attribute("aria-valuenow")
        top = handle.get_attribute("aria-valuemax")
        key = "ArrowLeft" if now is not None and top is not None and float(now) >= float(top) else "ArrowRight"
        before = self.page.evaluate(JS_OUTPUT_SNAPSHOT, {})
        handle.focus()
        start = time.monotonic()
        self.page.keyboard.press(key)
        try:
            self.page.wait_for_function(JS_OUTPUT_CHANGED, arg={"before": before},
                                        timeout=timeout_s * 1000, polling=50)
            seconds = time.monotonic() - start
        except _timeout_error():  # the output did not change at all
            seconds = None
        return SliderMove(index, label, key, now or "?", handle.get_attribute("aria-valuenow") or "?", seconds)

    def drag_slider(self, index: int, label: str, slider, timeout_s: float = 10.0) -> SliderMove:
        """Press the mouse on the slider's handle, drag it a third of the track in small steps and, with the
        button still held, wait until an output changes; then release. ``seconds`` counts from the first move
        (None: nothing changed while dragging, e.g. a slider that redraws only on release)."""
        handle = slider.locator(".noUi-handle").first
        track = slider.locator(".noUi-target, .slider-container").first
        now = handle.get_attribute("aria-valuenow")
        top = handle.get_attribute("aria-valuemax")
        going_right = not (now is not None and top is not None and float(now) >= float(top))
        handle.scroll_into_view_if_needed()     # the mouse reaches only what is on screen (no earlier test scrolled)
        box, lane = handle.bounding_box(), track.bounding_box()
        before = self.page.evaluate(JS_OUTPUT_SNAPSHOT, {})
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        self.page.mouse.move(x, y)
        self.page.mouse.down()
        seconds = None
        try:
            start = time.monotonic()
            distance = (lane["width"] / 3) * (1 if going_right else -1)
            for step in range(1, 11):
                self.page.mouse.move(x + distance * step / 10, y)
            try:
                self.page.wait_for_function(JS_OUTPUT_CHANGED, arg={"before": before},
                                            timeout=timeout_s * 1000, polling=50)
                seconds = time.monotonic() - start
            except _timeout_error():
                seconds = None
        finally:
            self.page.mouse.up()
        return SliderMove(index, label, "drag right" if going_right else "drag left", now or "?",
                          handle.get_attribute("aria-valuenow") or "?", seconds)

    def screenshot(self, path: Path, width: int = 1280, max_height: int = 30_000) -> int:
        """Save the whole notebook (every cell) as one PNG; return its height in pixels.

        The notebook scrolls inside the page, so the viewport is grown to the notebook's height first
        (with windowing mode 'none' every cell is in the page) and restored afterwards.
        """
        old = self.page.viewport_size
        box = self.page.evaluate(JS_CONTENT_HEIGHT, {"path": self.path})
        height = int(min(max_height, box["top"] + box["content"] + box["below"] + 40))
        self.page.set_viewport_size({"width": width, "height": height})
        want = height - box["top"] - box["below"] - 40  # the notebook's height in the grown viewport
        self.page.wait_for_function(JS_FITS, arg={"path": self.path, "want": want}, timeout=10_000, polling=100)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)
        if old:
            self.page.set_viewport_size(old)
        return height
