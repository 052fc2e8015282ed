"""Generate student notebooks from the instructor's solutions (markers in nbgrader's syntax).

The student version is ours, not nbgrader's release (``grading/nbgrader_export.py`` builds an nbgrader source
from it, with the solutions put back).

In code cells, ``### BEGIN SOLUTION`` .. ``### END SOLUTION`` becomes a stub: ``name = None`` lines
when the block only assigns top-level names, else ``raise NotImplementedError``. In Markdown cells
the block becomes an answer prompt. ``### BEGIN HIDDEN TESTS`` .. ``### END HIDDEN TESTS`` is removed.
A cell tagged ``student-raises`` is tagged ``raises-exception`` in the student version (its stub raises
until the student fills it in); a cell tagged ``solution-only`` is dropped.
"""

from __future__ import annotations

import ast
import copy
import shutil
import time
from pathlib import Path

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
MARKDOWN_PROMPT = "*Your answer here.*"


class MarkerError(ValueError):
    """Unbalanced or nested markers; the message names the notebook and the cell."""


def _assigned_names(block: list[str]) -> list[str] | None:
    """Names a block assigns if it consists only of top-level ``name = ...`` statements, else None."""
    try:
        tree = ast.parse("\n".join(block))
    except SyntaxError:
        return None
    names: list[str] = []
    for node in tree.body:
        if not isinstance(node, (ast.Assign, ast.AnnAssign)):
            return None
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if not isinstance(target, ast.Name):
                return None
            names.append(target.id)
    return names or None


def _stub(block: list[str], indent: str, cell_type: str) -> list[str]:
    if cell_type == "markdown":
        return [MARKDOWN_PROMPT]
    names = _assigned_names(block) if indent == "" else None
    if names:
        return [f"{name} = None  # YOUR ANSWER HERE" for name in dict.fromkeys(names)]
    return [f"{indent}# YOUR CODE HERE", f'{indent}raise NotImplementedError("fill in this part")']


def strip_cell_source(source: str, cell_type: str, where: str) -> str:
    """Apply the markers to one cell's source; ``where`` names the cell in errors."""
    out: list[str] = []
    block: list[str] = []
    mode, indent, start = None, "", 0
    for lineno, line in enumerate(source.split("\n"), 1):
        marker = line.strip()
        if marker in (BEGIN, BEGIN_HIDDEN):
            if mode is not None:
                raise MarkerError(f"{where}: line {lineno}: {marker!r} inside an open block from line {start}")
            mode, indent, start, block = marker, line[: len(line) - len(line.lstrip())], lineno, []
        elif marker in (END, END_HIDDEN):
            expected = END if mode == BEGIN else END_HIDDEN if mode == BEGIN_HIDDEN else None
            if marker != expected:
                opened = f"the block opened at line {start}" if mode else "no open block"
                raise MarkerError(f"{where}: line {lineno}: {marker!r} does not close {opened}")
            if mode == BEGIN:
                out.extend(_stub(block, indent, cell_type))
            mode = None
        elif mode is None:
            out.append(line)
        else:
            block.append(line)
    if mode is not None:
        raise MarkerError(f"{where}: {mode!r} at line {start} is never closed")
    return "\n".join(out)


def student_version(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """Return the student notebook for solution notebook ``nb`` (outputs cleared)."""
    student = copy.deepcopy(nb)
    cells = []
    for index, cell in enumerate(student.cells):
        tags = list(cell.get("metadata", {}).get("tags", []))
        if "solution-only" in tags:
            continue
        where = f"{name}, cell {index} (id {cell.get('id', '?')})"
        cell.source = strip_cell_source(cell.source, cell.cell_type, where)
        if "student-raises" in tags:
            tags = [t for t in tags if t != "student-raises"] + ["raises-exception"]
        if tags:
            cell.metadata["tags"] = tags
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    student.cells = cells
    return student


def generate(solutions: Path, notebooks: Path, backup: Path | None = None,
             only: list[str] | None = None) -> list[Path]:
    """Write ``notebooks/NN_name.ipynb`` for every ``solutions/NN_name.ipynb``; return the paths written.

    Raises MarkerError before writing anything if any notebook's markers are malformed. A student
    notebook whose cells differ from the new version is first copied to ``backup`` (default
    ``.lora-course-backup/`` beside notebooks/) with a timestamp, so nothing written there is lost.
    """
    sources = sorted(Path(solutions).glob("[0-9][0-9]_*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no solution notebooks (NN_name.ipynb) found in {solutions}")
    if only:
        sources = [p for p in sources if p.name.startswith(tuple(only))]
        if not sources:
            raise FileNotFoundError(f"no solution notebook in {solutions} starts with {', '.join(only)}")
    generated = {p.name: student_version(nbformat.read(p, as_version=4), p.name) for p in sources}
    notebooks = Path(notebooks)
    notebooks.mkdir(parents=True, exist_ok=True)
    backup = Path(backup) if backup else notebooks.parent / ".lora-course-backup"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    written = []
    for filename, nb in generated.items():
        target = notebooks / filename
        if target.exists():
            old = nbformat.read(target, as_version=4)
            if same_sources(old, nb):
                backup.mkdir(parents=True, exist_ok=True)
                shutil.copy2(target, backup / f"{target.stem}.{stamp}.ipynb")
            else:
                nb = _keep_outputs(nb, old)
        nbformat.write(nb, target)
        written.append(target)
    return written


def _keep_outputs(new: nbformat.NotebookNode, old: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """When the cells did not change, keep the stored outputs so regeneration is a no-op."""
    for a, b in zip(new.cells, old.cells, strict=True):
        if a.cell_type == "code":
            a.outputs, a.execution_count = b.get("outputs", []), b.get("execution_count")
    new.metadata = old.metadata
    return new


def same_sources(a: nbformat.NotebookNode, b: nbformat.NotebookNode) -> list[str]:
    """Differences between two notebooks' cells (type, id, source, tags), ignoring outputs."""
    problems = []
    if len(a.cells) != len(b.cells):
        problems.append(f"{len(a.cells)} cells vs {len(b.cells)}")
    for i, (x, y) in enumerate(zip(a.cells, b.cells, strict=False)):
        for field in ("cell_type", "id", "source"):
            if x.get(field) != y.get(field):
                problems.append(f"cell {i}: {field} differs")
        if x.get("metadata", {}).get("tags", []) != y.get("metadata", {}).get("tags", []):
            problems.append(f"cell {i}: tags differ")
    return problems
