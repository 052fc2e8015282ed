"""The dynamic half of the reference-use check: inspects the live objects in a notebook's namespace.

For the notebook's own check: an object's identity and ``__module__``, its MRO, each function's code file,
and the globals, closures and defaults its code refers to.
"""

from __future__ import annotations

import builtins
import importlib
import types
from pathlib import Path

from lora_course.feedback.reference_names import PACKAGE, reference_objects

_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)


def _from_package(obj) -> bool:
    module = getattr(obj, "__module__", None)
    return isinstance(module, str) and (module == PACKAGE or module.startswith(PACKAGE + "."))


def _functions_of(obj) -> list[types.FunctionType]:
    if isinstance(obj, types.FunctionType):
        return [obj]
    if isinstance(obj, types.MethodType):
        return _functions_of(obj.__func__)
    if hasattr(obj, "func") and callable(getattr(obj, "func", None)):          # functools.partial
        return _functions_of(obj.func)
    if isinstance(obj, type):
        out = []
        for cls in obj.__mro__:
            if cls is object or (cls.__module__ == "builtins" and getattr(builtins, cls.__name__, None) is cls):
                continue
            for value in vars(cls).values():
                if isinstance(value, (staticmethod, classmethod)):
                    value = value.__func__
                if isinstance(value, property):
                    out += [f for f in (value.fget, value.fset) if isinstance(f, types.FunctionType)]
                elif isinstance(value, types.FunctionType):
                    out.append(value)
        return out
    return []


def _codes(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def _inspect_function(fn: types.FunctionType, refs: dict[int, str], seen: set[int], depth: int) -> list[str]:
    if id(fn) in seen or depth > 4:
        return []
    seen.add(id(fn))
    label = getattr(fn, "__qualname__", "a function")
    code = fn.__code__
    if code.co_filename.startswith(_PACKAGE_DIR) or _from_package(fn):
        return [f"{label} is the package's own code ({code.co_filename.rsplit('/', 1)[-1]})"]
    reasons = []
    names = {n for c in _codes(code) for n in c.co_names}
    values = []
    for n in names:
        if n in fn.__globals__:
            values.append((n, fn.__globals__[n]))
        elif n == "__import__":
            values.append((n, builtins.__import__))
    values += [(name, cell.cell_contents) for name, cell in zip(
        code.co_freevars, fn.__closure__ or (), strict=False) if _filled(cell)]
    values += [("a default", v) for v in (fn.__defaults__ or ())]
    local_refs = [r for r in refs.values() if r.rsplit(".", 1)[1] in names]
    if local_refs and any(n == PACKAGE or n.startswith(PACKAGE + ".") for n in names):
        reasons.append(f"{label} imports the package for {local_refs[0]}")
    for name, value in values:
        if id(value) in refs:
            reasons.append(f"{label} refers to {refs[id(value)]} (as {name})")
        elif isinstance(value, types.ModuleType):
            if value.__name__ == PACKAGE or value.__name__.startswith(PACKAGE + "."):
                hit = [r for r in refs.values() if r.rsplit(".", 1)[1] in names]
                if hit or "getattr" in names or "__dict__" in names:
                    reasons.append(f"{label} reaches into {value.__name__} (as {name})"
                                   + (f" for {hit[0]}" if hit else ""))
            elif value.__name__ == "importlib" or (value.__name__ == "sys" and "modules" in names):
                reasons.append(f"{label} looks modules up dynamically ({value.__name__})")
        elif value is builtins.__import__ or value is importlib.import_module:
            reasons.append(f"{label} imports modules dynamically")
        elif isinstance(value, type) and any(id(c) in refs for c in value.__mro__):
            reasons.append(f"{label} uses {value.__name__}, a subclass of the package's implementation")
        elif isinstance(value, (types.FunctionType, type)) and not _from_package(value):
            for inner in _functions_of(value):
                reasons += _inspect_function(inner, refs, seen, depth + 1)
    return reasons


def _filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


def dynamic_findings(namespace: dict, task_names, references) -> list[str]:
    """Why the live objects named ``task_names`` in ``namespace`` are or lean on a reference (empty: fine)."""
    refs = reference_objects(references)
    if not refs:
        return []
    reasons: list[str] = []
    for name in task_names:
        obj = namespace.get(name)
        if obj is None:
            continue
        if id(obj) in refs:
            reasons.append(f"{name} is {refs[id(obj)]}")
            continue
        if isinstance(obj, type):
            bases = [c for c in obj.__mro__[1:] if id(c) in refs or _from_package(c)]
            if bases:
                reasons.append(f"{name} subclasses {bases[0].__module__}.{bases[0].__qualname__}")
                continue
        if _from_package(obj) and not isinstance(obj, types.ModuleType):
            reasons.append(f"{name} comes from the package ({obj.__module__})")
            continue
        seen: set[int] = set()
        for fn in _functions_of(obj):
            reasons += _inspect_function(fn, refs, seen, 0)
    return sorted(set(reasons))
