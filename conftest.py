"""Keep appendix 06 (PyTorch and PEFT, the optional ``[torch]`` extra) out of ``make test``.

``tests/torch/`` and the two 06 notebooks are collected only with ``--torch`` (``make test-torch``), so the
numpy course's suite needs no torch and never imports it.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent
TORCH_PATHS = (ROOT / "tests" / "torch",)
TORCH_NOTEBOOK = "06_torch_and_peft.ipynb"


def pytest_addoption(parser):
    parser.addoption("--torch", action="store_true", default=False,
                     help="collect appendix 06's tests (tests/torch/, notebooks 06); needs the [torch] extra")


def is_torch_path(path: Path) -> bool:
    """tests/torch/ and anything under it, and solutions/ or notebooks/ 06_torch_and_peft.ipynb."""
    path = Path(path).resolve()
    return path.name == TORCH_NOTEBOOK or any(path == p or p in path.parents for p in TORCH_PATHS)


def pytest_ignore_collect(collection_path, config):
    if is_torch_path(collection_path) and not config.getoption("--torch"):
        return True
    return None

