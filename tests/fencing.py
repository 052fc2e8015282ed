"""Whether the grader's fenced kernel can run here: root and Linux namespaces.

Outside CI the grading tests that need it skip with the reason; with CI=true they fail instead,
because CI runs as root on a machine that has namespaces.
"""

import os
import shutil
import subprocess

import pytest


def fence_works() -> bool:
    """Root, and Linux namespaces usable here (a container may refuse them)."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    cmd = ["unshare", "--mount", "--pid", "--fork", "--net", "--mount-proc", "true"]
    return subprocess.run(cmd, capture_output=True, check=False).returncode == 0


REASON = "the fenced grading kernel needs root and Linux namespaces (unshare)"
requires_fence = pytest.mark.skipif(not fence_works() and os.environ.get("CI") != "true", reason=REASON)
