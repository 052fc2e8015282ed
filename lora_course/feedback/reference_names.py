"""Resolving the dotted names of the package's reference objects (``lora_course.layer.LoRA``) to live objects.

Only course modules are ever imported; a name that does not resolve is left out.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys

PACKAGE = "lora_course"
_MODULE_NAME = re.compile(r"lora_course(\.[A-Za-z_][A-Za-z0-9_]*)*")


def resolve(dotted: str):
    """The object a dotted name under the package denotes (importing only course modules), or None."""
    if not _MODULE_NAME.fullmatch(dotted):
        return None
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            if module_name not in sys.modules and importlib.util.find_spec(module_name) is None:
                continue
            obj = importlib.import_module(module_name)
        except (ImportError, ValueError):
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return None
        return obj
    return None


def reference_objects(references) -> dict[int, str]:
    """id(object) -> dotted name, for every reference that resolves."""
    out = {}
    for name in references:
        obj = resolve(name)
        if obj is not None:
            out[id(obj)] = name
    return out


def is_reference(dotted: str, refs: dict[int, str]) -> str | None:
    """The reference that ``dotted`` (or one of its prefixes, e.g. LoRA for LoRA.forward) is, if any."""
    parts = dotted.split(".")
    for cut in range(len(parts), 1, -1):
        obj = resolve(".".join(parts[:cut]))
        if obj is not None and id(obj) in refs:
            return refs[id(obj)]
    return None
