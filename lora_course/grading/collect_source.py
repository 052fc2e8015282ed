"""The collect half of a checks module, alone: the source the clean grading interpreter runs to call the student's
objects, without the judges (which rebuild the reference) or anything else of the package.

A checks module with ``COLLECT_MODULE`` (lesson 05) gives that module's ``CHECKS`` and what it needs; a lesson's task
module (``CHECKS[name].collect`` being its own top-level functions) gives those functions and the student-side
helpers they call (``get``, ``floats``, ``parts``), flattened into one namespace. The source ends with
``__collect__ = {check name: collect function}``. Imports nested in functions stay (they run through the student's
view of the package at call time) and are listed so the view can hold them.
"""

from __future__ import annotations

import ast
import importlib
from functools import lru_cache

from lora_course.grading.source_closure import ClosureError, flat_source, package_imports

REFERENCE_MODULES = ("lora_course.layer", "lora_course.merge", "lora_course.multi_lora", "lora_course.lowrank",
                     "lora_course.analysis", "lora_course.gradcheck", "lora_course.toy")


GUARD_MODULE = "lora_course.feedback.calls"


def _allowed(module: str, name: str) -> bool:
    return not any(module == m or module.startswith(m + ".") for m in REFERENCE_MODULES)


@lru_cache(maxsize=32)
def collect_source(checks_module: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(source, package objects its functions import when called) for ``checks_module``'s checks."""
    checks = importlib.import_module(checks_module)
    table = checks.CHECKS
    collect_module = getattr(checks, "COLLECT_MODULE", None)
    if collect_module:
        source = flat_source(collect_module, {"CHECKS"}, _allowed)
        mapping = ", ".join(f"{name!r}: CHECKS[{name!r}].collect" for name in table)
    else:
        functions, limits = {}, {}
        for name, check in table.items():
            fn = check.collect
            if getattr(fn, "__wrapped__", None) is not None:     # the feedback's guard: unwrapped here, rewrapped below
                fn, limits[name] = fn.__wrapped__, getattr(check, "time_limit", None)
            if getattr(fn, "__module__", None) != checks_module or fn.__qualname__ != fn.__name__:
                raise ClosureError(f"{checks_module}.CHECKS[{name!r}].collect: expected a top-level function of "
                                   f"the module, got {fn!r}")
            functions[name] = fn.__name__
        source = flat_source(checks_module, set(functions.values()), _allowed)
        if limits:
            # the same diagnoses and CPU-time limit as the student's notebook: one check definition serves both
            guard = flat_source(GUARD_MODULE, {"guarded"}, _allowed).replace("from __future__ import annotations\n", "")
            source += "\n\n" + guard
        mapping = ", ".join(f"{name!r}: guarded({fn}, {limits[name]!r})" if name in limits else f"{name!r}: {fn}"
                            for name, fn in functions.items())
    source += f"\n\n__collect__ = {{{mapping}}}\n"
    needs = tuple(sorted({(m, n) for m, n, _ in package_imports(ast.parse(source), "__collect__")}))
    return source, needs
