"""Facts about the course's notebooks read from the .ipynb files (no browser needed)."""

from __future__ import annotations

from pathlib import Path

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


# Notebooks that need an optional extra: left to that extra's suite (appendix 06: tests/torch/, `make test-torch`).
EXTRA_NOTEBOOKS = {"06_torch_and_peft.ipynb": "torch"}


def course_notebooks(root: Path, extra: str | None = None) -> list[str]:
    """'solutions/NN_x.ipynb' and 'notebooks/NN_x.ipynb' paths under ``root`` that exist now, lesson by lesson:
    the core course's, or with ``extra`` (e.g. "torch") only the notebooks that need that extra."""
    paths = [p.relative_to(root).as_posix()
             for folder in ("solutions", "notebooks") for p in (root / folder).glob("[0-9][0-9]_*.ipynb")
             if EXTRA_NOTEBOOKS.get(p.name) == extra]
    return sorted(paths, key=lambda p: (Path(p).name, p))


def allowed_error_cells(nb: dict, student: bool) -> set[int]:
    """Indices of cells that may raise: in a student notebook those tagged raises-exception; else none."""
    if not student:
        return set()
    return {i for i, cell in enumerate(nb["cells"]) if "raises-exception" in cell.get("metadata", {}).get("tags", [])}


def widget_cells(*notebooks: dict) -> list[int]:
    """Indices of code cells that display an ipywidget in any of the given notebooks (file or live JSON)."""
    found = set()
    for nb in notebooks:
        for i, cell in enumerate(nb["cells"]):
            if any(WIDGET_MIME in out.get("data", {}) for out in cell.get("outputs", [])):
                found.add(i)
    return sorted(found)


def first_line(cell: dict) -> str:
    """The cell's first meaningful source line (nbval markers skipped), cut to 70 characters, for messages."""
    source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    lines = [line for line in source.splitlines() if line.strip() and not line.startswith("# NBVAL")]
    return (lines[0] if lines else "")[:70]
