"""One line of versions for a notebook's setup cell."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version


def versions_line() -> str:
    """'Python X, numpy X, matplotlib X, ipywidgets X, lora-course X' for what is installed."""
    parts = [f"Python {platform.python_version()}"]
    for name in ("numpy", "matplotlib", "ipywidgets", "lora-course"):
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return ", ".join(parts)
