"""Start-up time of the course's own processes (``lora-course``, the Gradescope autograder and its child).

They read notebooks with nbformat, which imports jsonschema. Where ``rfc3987_syntax`` is installed (JupyterLab's
jupyter-events asks for it), jsonschema imports it to check the ``iri`` string format, and that module builds
its Earley parsers as it is imported: about 1.2 s of CPU in every process, three times the rest of the
autograder's imports together (python-jsonschema/jsonschema issue 1428). No notebook schema and no schema of ours
uses the ``iri`` format, so our processes leave that checker out. A student's kernel is never touched.
"""

from __future__ import annotations

import sys

SKIPPED = "rfc3987_syntax"


def skip_unused_format_checker() -> bool:
    """Make ``import rfc3987_syntax`` fail in this process, so jsonschema registers no ``iri`` checker; call it
    before jsonschema is imported. Returns whether it took effect (False when jsonschema's format checkers or
    that module are loaded already: then nothing changes)."""
    if "jsonschema._format" in sys.modules or SKIPPED in sys.modules:
        return False
    sys.modules[SKIPPED] = None          # the import system's "not available": ImportError, which jsonschema expects
    return True
