"""Where the browser tests find things (course folder, Chromium) and what they do when it is missing.

Without Chromium (or the playwright package) the tests skip and say how to enable them; with the
environment variable CI=true they fail instead, so a CI machine cannot pass them by accident.
Chromium is looked up at $LORA_COURSE_CHROMIUM, then /usr/bin/chromium, then on PATH.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "screenshots"  # git-ignored
# A full-page screenshot of every notebook costs about 2 s of CPU each (the page grown to the notebook's height,
# rasterised without a GPU): taken when this is set to 1, and always for a notebook whose run fails.
SCREENSHOTS_ENV = "LORA_COURSE_SCREENSHOTS"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HOW_TO_ENABLE = ("To run the browser tests install Chromium (Debian/Ubuntu: `sudo apt-get install chromium`) "
                 "or point LORA_COURSE_CHROMIUM at a Chrome/Chromium binary, and install the test extra "
                 "(`.venv/bin/pip install -e '.[test]'`, which brings playwright).")


def screenshots_wanted() -> bool:
    """Whether every notebook run is saved as a full-page screenshot (``LORA_COURSE_SCREENSHOTS=1``)."""
    return os.environ.get(SCREENSHOTS_ENV, "").strip().lower() in {"1", "true", "yes"}


def in_ci() -> bool:
    """True when the environment variable CI says so (CI=true, as GitHub Actions and .ci/run set it)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str):
    """Skip locally; fail under CI=true (the browser suite is part of the CI contract)."""
    message = f"{reason}. {HOW_TO_ENABLE}"
    if in_ci():
        pytest.fail(f"CI=true and the browser tests cannot run: {message}", pytrace=False)
    pytest.skip(message)


def find_chromium() -> str | None:
    """Path of an executable Chromium/Chrome, or None."""
    override = os.environ.get("LORA_COURSE_CHROMIUM")
    if override:
        return override if os.access(override, os.X_OK) else None
    candidates = ["/usr/bin/chromium"] + [shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")]
    return next((c for c in candidates if c and os.path.isfile(c) and os.access(c, os.X_OK)), None)
