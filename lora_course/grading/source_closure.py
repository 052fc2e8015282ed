"""The top-level statements of a course module that some of its names need (their closure), read from source.

Used to hand the clean grading interpreter only what it may hold: a checks module's ``collect`` functions without
their judges, and the few helpers of a module (``scale_factor``) whose other names are the reference. Nothing is
imported here; the modules are parsed from the installed package's files.
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass, field
from functools import lru_cache

PACKAGE = "lora_course"


class ClosureError(ValueError):
    """A name cannot be extracted from its module's source (not defined at the top level, or not a module)."""


@lru_cache(maxsize=256)
def module_source(module: str) -> str:
    """The source text of a course module (``lora_course.x.y``)."""
    if not (module == PACKAGE or module.startswith(PACKAGE + ".")):
        raise ClosureError(f"module: expected a module of {PACKAGE}, got {module!r}")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise ClosureError(f"{module}: expected a Python module of the package, found none")
    with open(spec.origin, encoding="utf-8") as f:
        return f.read()


def is_package(module: str) -> bool:
    spec = importlib.util.find_spec(module)
    return spec is not None and spec.submodule_search_locations is not None


def module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _bound(stmt: ast.stmt) -> set[str]:
    """Top-level names a statement binds."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names if a.name != "*"}
    if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    if isinstance(stmt, (ast.If, ast.Try)):
        return {n for s in ast.iter_child_nodes(stmt) if isinstance(s, ast.stmt) for n in _bound(s)}
    return set()


def _loaded(stmt: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}


def package_imports(node: ast.AST, module: str) -> list[tuple[str, str, str]]:
    """(module, name, alias) of every ``from lora_course.m import name as alias`` in ``node`` (nested ones too);
    a plain ``import lora_course.m`` gives (m, '', alias)."""
    out = []
    for n in ast.walk(node):
        if isinstance(n, ast.ImportFrom):
            base = n.module or ""
            if n.level:                                     # relative: resolve against the module's package
                parts = module.split(".")[: -n.level] if not is_package(module) else module.split(".")[: len(
                    module.split(".")) - n.level + 1]
                base = ".".join([*parts, base] if base else parts)
            if base == PACKAGE or base.startswith(PACKAGE + "."):
                out += [(base, a.name, a.asname or a.name) for a in n.names]
        elif isinstance(n, ast.Import):
            out += [(a.name, "", a.asname or a.name.split(".")[0]) for a in n.names
                    if a.name == PACKAGE or a.name.startswith(PACKAGE + ".")]
    return out


@dataclass
class Closure:
    """The statements (in source order) that define ``names`` in ``module`` and what they need from the package."""

    module: str
    statements: list[ast.stmt] = field(default_factory=list)
    needs: list[tuple[str, str, str]] = field(default_factory=list)   # top-level imports: (module, name, alias)
    call_time: list[tuple[str, str, str]] = field(default_factory=list)   # imports inside functions and classes


def closure(module: str, names: set[str]) -> Closure:
    """The top-level statements of ``module`` that bind ``names`` and, transitively, what those use.

    Imports of the package are not kept as statements: they are listed in ``needs`` (the caller decides whether
    each may exist). Other imports (numpy, dataclasses...) are kept. Raises ClosureError for a name the module
    does not bind at its top level.
    """
    tree = ast.parse(module_source(module))
    body = tree.body
    binders: dict[str, list[int]] = {}
    for i, stmt in enumerate(body):
        for name in _bound(stmt):
            binders.setdefault(name, []).append(i)
    missing = sorted(n for n in names if n not in binders)
    if missing:
        raise ClosureError(f"{module}: expected top-level definitions of {missing}, found none")
    keep: set[int] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        for i in binders.get(name, []):
            if i in keep:
                continue
            keep.add(i)
            todo += [n for n in _loaded(body[i]) if n in binders]
    out = Closure(module)
    futures = {i for i, s in enumerate(body) if isinstance(s, ast.ImportFrom) and s.module == "__future__"}
    for i in sorted(keep | futures):
        stmt = body[i]
        found = package_imports(stmt, module)
        if isinstance(stmt, (ast.Import, ast.ImportFrom)) and found:
            wanted = [f for f in found if f[2] in names or any(f[2] in _loaded(body[j]) for j in keep if j != i)]
            out.needs += wanted
            continue
        out.call_time += [f for f in found if f not in out.call_time]   # imports nested in functions
        out.statements.append(stmt)
    return out


def flat_source(module: str, names: set[str], allow=lambda module, name: True) -> str:
    """One self-contained source holding ``names`` of ``module`` and, flattened into the same namespace, every
    package object they need (recursively), without any import of the package at the top level.

    ``allow(module, name)`` is asked for each package object pulled in; False raises ClosureError (the source
    would need something the clean interpreter may not hold). Imports nested inside functions are left as they
    are (they run later, through the student's view of the package).
    """
    emitted: dict[tuple[str, str], str] = {}
    chunks: list[str] = []
    owner: dict[str, tuple[str, str]] = {}
    futures = "from __future__ import annotations\n"

    def emit(mod: str, wanted: set[str]) -> None:
        todo = {n for n in wanted if (mod, n) not in emitted}
        if not todo:
            return
        for n in todo:
            emitted[(mod, n)] = n
        part = closure(mod, todo)
        top = [s for s in part.statements if not (isinstance(s, ast.ImportFrom) and s.module == "__future__")]
        for dep_mod, dep_name, _ in part.needs + part.call_time:
            if not allow(dep_mod, dep_name):
                raise ClosureError(f"{mod} needs {dep_mod}{'.' + dep_name if dep_name else ''}, "
                                   "which the clean interpreter may not hold")
        top_needs = part.needs
        for dep_mod, dep_name, _ in top_needs:
            if not dep_name or is_package(dep_mod) and module_exists(f"{dep_mod}.{dep_name}"):
                raise ClosureError(f"{mod} imports the module {dep_mod}{'.' + dep_name if dep_name else ''} at its "
                                   "top level; only functions, classes and constants can be flattened")
            emit(dep_mod, {dep_name})
        lines = [ast.unparse(s) for s in top]
        lines += [f"{alias} = {dep_name}" for dep_mod, dep_name, alias in top_needs if alias != dep_name]
        for s in top:
            for name in _bound(s):
                if name in owner and owner[name] != (mod, name) and not isinstance(s, (ast.Import, ast.ImportFrom)):
                    raise ClosureError(f"{name} is defined in both {owner[name][0]} and {mod}")
                owner.setdefault(name, (mod, name))
        chunks.append(f"# --- from {mod}\n" + "\n\n".join(lines) + "\n")

    emit(module, set(names))
    return futures + "\n".join(chunks)

