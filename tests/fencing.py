"""Whether the grader's sandbox can run here: root, and bubblewrap able to build one for another uid.

Outside CI the grading tests that need it skip with the reason; with CI=true they fail instead,
because CI runs as root on a machine with user namespaces (and .ci/run installs bubblewrap).
"""

import os

import pytest

from lora_course.grading.sandbox import bwrap_works


def fence_works() -> bool:
    """Root, and bwrap can build a sandbox after dropping to an unprivileged uid (a container may refuse)."""
    return os.geteuid() == 0 and bwrap_works(as_uid=60999)


REASON = "the grader's sandbox needs root and bubblewrap (/usr/bin/bwrap) with user namespaces"
requires_fence = pytest.mark.skipif(not fence_works() and os.environ.get("CI") != "true", reason=REASON)
