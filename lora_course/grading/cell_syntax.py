"""An answer cell's IPython syntax as the plain Python the clean interpreter runs (the kernel's own translation).

The kernel runs a cell through IPython's input transformers; the clean interpreter is plain Python. So the grader
translates each answer cell the same way first (``t = %timeit -o f()``, ``np.dot?``, a magic indented inside a
function, ``files = !ls``: each becomes a ``get_ipython()`` call), and the clean interpreter's ``get_ipython()``
runs ``%time``'s statement and ignores the rest. A cell that starts with ``%%time``, ``%%capture`` or
``%%writefile`` keeps its body as code (the kernel runs it, or writes the module the next cell imports). Without
this, one such line made the whole cell a SyntaxError there: an honest answer lost every point.
"""

from __future__ import annotations

from IPython.core.inputtransformer2 import TransformerManager

BODY_MAGICS = ("%%time", "%%capture", "%%writefile")
MAX_SOURCE = 2_000_000


def ipython_source(source: str) -> str:
    """``source`` with IPython's syntax turned into Python; the text as it is when it has none or cannot be read."""
    if not isinstance(source, str):
        raise TypeError(f"source: expected the cell's text (str), got {type(source).__name__}")
    first, _, rest = source.lstrip("\n").partition("\n")
    if first.split(" ")[0].strip() in BODY_MAGICS:
        source = rest
    if "%" not in source and "!" not in source and "?" not in source or len(source) > MAX_SOURCE:
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - IPython could not read it either: the cell runs (and fails) as written
        return source
