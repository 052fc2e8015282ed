"""The student's view of ``lora_course`` in the clean grading interpreter, and the lesson's setup taken from the
instructor's solution.

In that interpreter the package's reference does not exist. The view is a set of module sources, served from
memory by the interpreter's own import finder (the package's folder itself is hidden by the sandbox):

- whole modules that neither are nor lean on a reference (``validation``, ``lessons.l05_project``,
  ``feedback.answers`` for ``check``), as the setup, the checks or the student's own imports need them;
- for a module that holds a reference next to helpers a lesson hands out (``layer.scale_factor``), a partial
  module with those helpers only (their source closure); any other name of it is refused;
- nothing of ``layer``, ``merge``, ``multi_lora``, ``lowrank``, ``analysis``, the grader (``grading``) or the
  checks and their judges (``feedback``, but ``feedback.answers``), nor any object a graded item lists as
  its ``reference``.

The setup is the solution's own imports and literal constants (never a cell of the submission), limited to the
names the student's answer cells use; a setup name whose object is not in the view is left out and remembered
(``dropped``), so that using it reads "the package's reference is not available while grading".
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import nbformat

from lora_course.grading.items import GradedItem, answer_cell_ids
from lora_course.grading.source_closure import (
    PACKAGE,
    ClosureError,
    closure,
    is_package,
    module_exists,
    module_source,
    package_imports,
)

FORBIDDEN = ("lora_course.layer", "lora_course.merge", "lora_course.multi_lora", "lora_course.lowrank",
             "lora_course.analysis", "lora_course.grading", "lora_course.feedback", "lora_course.cli",
             "lora_course.authoring", "lora_course.torch_bridge")
ALLOWED = ("lora_course.feedback.answers",)          # check(...) of the auto answers: keys, no reference
PARTIAL_OK = {"lora_course.layer": ("scale_factor",)}   # helpers of a reference module that a lesson hands out
NOT_AVAILABLE = "the package's reference is not available while grading; write your own"


@dataclass
class View:
    """Module name -> source of the view; the setup source; setup names left out -> where they came from."""

    modules: dict[str, str] = field(default_factory=dict)
    packages: list[str] = field(default_factory=list)
    setup: str = ""
    dropped: dict[str, str] = field(default_factory=dict)


def references(items: list[GradedItem] | tuple[GradedItem, ...]) -> frozenset[str]:
    """Every object a project item of the notebook lists as its reference (dotted names)."""
    return frozenset(r for item in items if item.kind == "project" for r in item.reference)


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


class _Builder:
    """Decides, module by module and name by name, what may exist in the view (memoised, cycle-safe)."""

    def __init__(self, refs: frozenset[str]) -> None:
        self.refs = refs
        self.whole: dict[str, bool] = {}
        self.partial: dict[str, set[str]] = {}

    def module_ok(self, module: str) -> bool:
        """The whole module may exist: not forbidden, defines no reference, imports only what may exist."""
        if module in self.whole:
            return self.whole[module]
        if (_under(module, FORBIDDEN) and not _under(module, ALLOWED)) or not module_exists(module):
            self.whole[module] = False
            return False
        self.whole[module] = True                      # assumed while its imports are checked (cycles)
        try:
            tree = ast.parse(module_source(module))
        except ClosureError:                           # a package folder without source, or not Python
            self.whole[module] = is_package(module)
            return self.whole[module]
        defines = {f"{module}.{n}" for s in tree.body for n in _bound_names(s)}
        ok = not (defines & self.refs) and all(
            self.object_ok(m, n) if n else self.module_ok(m) for m, n, _ in package_imports(tree, module))
        self.whole[module] = ok
        return ok

    def object_ok(self, module: str, name: str) -> bool:
        """``module.name`` may exist (as part of the whole module, or of a partial one)."""
        if name == "*":
            return self.module_ok(module)
        dotted = f"{module}.{name}"
        if dotted in self.refs or (_under(module, FORBIDDEN) and not _under(module, ALLOWED)
                                   and name not in PARTIAL_OK.get(module, ())):
            return False
        if module_exists(dotted) and is_package(module):
            return self.module_ok(dotted)
        if self.module_ok(module):
            return True
        if name in self.partial.get(module, ()):
            return True
        try:
            part = closure(module, {name})
        except ClosureError:
            return False
        defines = {f"{module}.{n}" for s in part.statements for n in _bound_names(s)}
        if defines & self.refs:
            return False
        self.partial.setdefault(module, set()).add(name)
        if all(self.object_ok(m, n) if n else self.module_ok(m) for m, n, _ in part.needs + part.call_time):
            return True
        self.partial[module].discard(name)
        return False

    def view(self) -> tuple[dict[str, str], list[str]]:
        """The module sources (whole and partial) and the package names of the view."""
        modules: dict[str, str] = {}
        for module, ok in self.whole.items():
            if ok:
                modules[module] = "" if not _has_source(module) else module_source(module)
        for module, names in self.partial.items():
            if names and not self.whole.get(module):
                modules[module] = partial_source(module, names)
        for module in list(modules):
            parts = module.split(".")
            for cut in range(1, len(parts)):
                parent = ".".join(parts[:cut])
                if parent not in modules:
                    modules[parent] = module_source(parent) if self.module_ok(parent) and _has_source(parent) else ""
        packages = sorted(m for m in modules if m == PACKAGE or is_package(m))
        return dict(sorted(modules.items())), packages


def _has_source(module: str) -> bool:
    try:
        module_source(module)
    except ClosureError:
        return False
    return True


def _bound_names(stmt: ast.stmt) -> set[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def partial_source(module: str, names: set[str]) -> str:
    """A module holding only ``names`` of ``module`` (their closure); any other name is refused when asked for."""
    part = closure(module, set(names))
    head = [f"from {m} import {n} as {a}" if n else f"import {m} as {a}" for m, n, a in part.needs]
    body = [ast.unparse(s) for s in part.statements]
    denied = (f"\n\ndef __getattr__(name):\n    _lora_view_denied({module!r}, name)\n"
              f"    raise AttributeError(f\"{{name}}: {NOT_AVAILABLE}\")\n")
    future = [b for b in body if b.startswith("from __future__")]
    rest = [b for b in body if not b.startswith("from __future__")]
    return "\n".join(future + head) + "\n\n" + "\n\n".join(rest) + denied


def used_names(sources: list[str]) -> set[str] | None:
    """Every name the answer cells mention (None if one does not parse: then the whole setup is kept)."""
    names: set[str] = set()
    for source in sources:
        try:
            tree = ast.parse(_strip_magics(source))
        except (SyntaxError, ValueError):
            return None
        names |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return names


def _strip_magics(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))


def _literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def setup_statements(solution: nbformat.NotebookNode) -> list[ast.stmt]:
    """The imports and literal constants of the solution's instructor code cells, in order."""
    answers = answer_cell_ids(solution)
    out: list[ast.stmt] = []
    for cell in solution.cells:
        if cell.cell_type != "code" or cell.get("id") in answers:
            continue
        try:
            tree = ast.parse(_strip_magics(cell.source))
        except (SyntaxError, ValueError):
            continue
        for stmt in tree.body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)) and not (
                    isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"):
                out.append(stmt)
            elif isinstance(stmt, ast.Assign) and _literal(stmt.value) and all(
                    isinstance(n, (ast.Name, ast.Tuple)) for n in stmt.targets):
                out.append(stmt)
    return out


def build_view(solution: nbformat.NotebookNode, items, answer_sources: list[str],
               collect_needs: list[tuple[str, str]] = ()) -> View:
    """The student's view of the package and the lesson's setup for one notebook (see the module docstring)."""
    builder = _Builder(references(items))
    for module, name in collect_needs:
        if not (builder.object_ok(module, name) if name else builder.module_ok(module)):
            raise ClosureError(f"the checks' collect needs {module}.{name}, which the student's view may not hold")
    used = used_names(answer_sources)
    lines: list[str] = []
    dropped: dict[str, str] = {}
    for stmt in setup_statements(solution):
        bound = {(a.asname or a.name).split(".")[0] for a in getattr(stmt, "names", [])} if isinstance(
            stmt, (ast.Import, ast.ImportFrom)) else {n.id for t in stmt.targets for n in ast.walk(t)
                                                     if isinstance(n, ast.Name)}
        if used is not None and not bound & used:
            continue
        found = package_imports(stmt, "__main__")
        if not found:
            lines.append(ast.unparse(stmt))
            continue
        for module, name, alias in found:
            if name == "*":
                continue
            if name and builder.object_ok(module, name):
                lines.append(f"from {module} import {name} as {alias}" if alias != name else
                             f"from {module} import {name}")
            elif not name and builder.module_ok(module):
                lines.append(f"import {module}" + (f" as {alias}" if alias != module.split(".")[0] else ""))
            elif alias != PACKAGE:
                dropped[alias] = f"{module}.{name}" if name else module
    for source in answer_sources:                      # the student's own imports of helpers that are no reference
        try:
            tree = ast.parse(_strip_magics(source))
        except (SyntaxError, ValueError):
            continue
        for module, name, _alias in package_imports(tree, "__main__"):
            builder.object_ok(module, name) if name else builder.module_ok(module)
    builder.module_ok(PACKAGE)                         # the package itself (its version) is always there
    modules, packages = builder.view()
    return View(modules, packages, "\n".join(lines) + "\n", dropped)
