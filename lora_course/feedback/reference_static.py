"""The static half of the reference-use check: reads a submission's source text (the grader, in its own process).

Imports and their aliases, ``importlib.import_module``, ``__import__``, ``sys.modules``, ``getattr`` on the
package, assignments, subclassing, and helper functions that use a reference (transitively); each ``Finding``
is attributed to the top-level name its statement defines.
"""

from __future__ import annotations

import ast
import types
from dataclasses import dataclass

from lora_course.feedback.reference_names import PACKAGE, is_reference, reference_objects, resolve

_DYNAMIC = "<dynamic>"


@dataclass(frozen=True)
class Finding:
    """One use of the reference: which top-level names it belongs to (empty: none), and why, in words."""

    names: frozenset[str]
    reason: str


def _strip_magics(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))


def _defined_names(stmt: ast.stmt) -> frozenset[str]:
    """The top-level names a statement binds or patches (``LoRA.forward = ...`` counts for LoRA)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return frozenset({stmt.name})
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        names = {(a.asname or a.name).split(".")[0] for a in stmt.names if a.name != "*"}
        if isinstance(stmt, ast.ImportFrom) and any(a.name == "*" for a in stmt.names):
            names |= set(_star_names(stmt.module or ""))
        return frozenset(names)
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)]
    names = set()
    for target in targets:
        for node in ast.walk(target) if target is not None else ():
            if isinstance(node, ast.Name):
                names.add(node.id)
    return frozenset(names)


def _star_names(module: str) -> list[str]:
    """The names ``from <module> import *`` binds, for a course module (none for any other)."""
    obj = resolve(module) if module.startswith(PACKAGE) else None
    if not isinstance(obj, types.ModuleType):
        return []
    return list(getattr(obj, "__all__", [n for n in vars(obj) if not n.startswith("_")]))


class _Static:
    def __init__(self, refs: dict[int, str], task_names=()) -> None:
        self.refs = refs
        self.task_names = set(task_names)        # a task's own name never carries a reference into other code
        self.aliases: dict[str, str] = {}          # local name -> dotted path under the package
        self.tainted: dict[str, str] = {}          # helper name -> why it leans on a reference

    def path(self, node: ast.AST) -> str | None:
        """The dotted package path an expression evaluates to, if it can be told statically."""
        if isinstance(node, ast.Name):
            return None if node.id in self.task_names else self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.path(node.value)
            return f"{base}.{node.attr}" if base and base != _DYNAMIC else base
        if isinstance(node, ast.Subscript):                  # sys.modules["lora_course.layer"]
            if _dotted(node.value) == "sys.modules":
                key = node.slice
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    return key.value if key.value.startswith(PACKAGE) else None
                return _DYNAMIC
            return None
        if isinstance(node, ast.Call):
            func = _dotted(node.func)
            first = node.args[0] if node.args else None
            const = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
            if func in ("importlib.import_module", "import_module", "__import__", "builtins.__import__"):
                if const is None:
                    return _DYNAMIC
                if not const.startswith(PACKAGE):
                    return None
                fromlist = len(node.args) >= 4 or any(k.arg == "fromlist" for k in node.keywords)
                return const if "import_module" in func or fromlist else PACKAGE
            if func == "getattr" and len(node.args) >= 2:
                base = self.path(node.args[0])
                name = node.args[1]
                if base is None:
                    return None
                if isinstance(name, ast.Constant) and isinstance(name.value, str) and base != _DYNAMIC:
                    return f"{base}.{name.value}"
                return _DYNAMIC
            if func == "vars" and node.args and self.path(node.args[0]):
                return _DYNAMIC
        return None

    def bind(self, stmt: ast.stmt) -> None:
        """Record the aliases an import or assignment creates; a name the student binds otherwise (``def``,
        ``class``, assignment, ``for``, ``with``, another import) is theirs and no longer an alias."""
        for name in _rebound(stmt):
            self.aliases.pop(name, None)
        if isinstance(stmt, ast.Import):
            for a in stmt.names:
                if a.name.startswith(PACKAGE):
                    self.aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else PACKAGE
        elif isinstance(stmt, ast.ImportFrom) and stmt.module and stmt.module.startswith(PACKAGE) and not stmt.level:
            for a in stmt.names:
                for name in _star_names(stmt.module) if a.name == "*" else [a.name]:
                    self.aliases[a.asname or name] = f"{stmt.module}.{name}"
        elif isinstance(stmt, ast.Assign):
            path = self.path(stmt.value)
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    if path:
                        self.aliases[target.id] = path
                    else:
                        self.aliases.pop(target.id, None)

    def uses(self, stmt: ast.stmt) -> list[str]:
        """Why a statement leans on a reference (empty: it does not)."""
        reasons, saved = [], dict(self.aliases)
        nested = [n for n in ast.walk(stmt) if isinstance(n, (ast.Import, ast.ImportFrom, ast.Assign))]
        for node in nested:                      # imports and aliases inside functions and classes count too
            self.bind(node)
        for node in [stmt] + [n for n in nested if n is not stmt]:
            reasons += self._imports(node)
        reasons += self._loads(stmt)
        self.aliases = saved
        return sorted(set(reasons))

    def _imports(self, stmt: ast.AST) -> list[str]:
        reasons = []
        if isinstance(stmt, ast.ImportFrom) and stmt.module and stmt.module.startswith(PACKAGE) and not stmt.level:
            for a in stmt.names:
                if a.name == "*":
                    if any(ref.rsplit(".", 1)[0] == stmt.module or ref.startswith(stmt.module + ".")
                           for ref in self.refs.values()):
                        reasons.append(f"`from {stmt.module} import *` brings in the package's implementation")
                elif (ref := is_reference(f"{stmt.module}.{a.name}", self.refs)):
                    reasons.append(f"imports {ref}")
        return reasons

    def _loads(self, stmt: ast.stmt) -> list[str]:
        reasons = []
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in self.tainted:
                reasons.append(f"calls {node.id}, which {self.tainted[node.id]}")
            if not isinstance(node, (ast.Name, ast.Attribute, ast.Subscript, ast.Call)) or \
                    isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del)):
                continue                          # a name being bound (for x in, with as x) is not a use
            path = self.path(node)
            if path == _DYNAMIC:
                reasons.append("looks up the course package dynamically (importlib, __import__, sys.modules, "
                               "getattr or vars with a computed name)")
            elif path and (ref := is_reference(path, self.refs)):
                reasons.append(f"uses {ref}" + (f" (as {ast.unparse(node)[:60]})" if ast.unparse(node) != ref else ""))
        return reasons


def _rebound(stmt: ast.AST) -> set[str]:
    """Names a statement binds at its own level (compound statements' bodies included, function bodies not)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names if a.name != "*"}
    targets: list[ast.AST] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
        targets = [stmt.target]
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        targets = [i.optional_vars for i in stmt.items if i.optional_vars is not None]
    names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    names |= {n.target.id for n in ast.walk(stmt) if isinstance(n, ast.NamedExpr) and
              not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    for field in ("body", "orelse", "finalbody", "handlers"):
        for child in getattr(stmt, field, []) or []:
            if isinstance(child, ast.ExceptHandler):
                names |= {child.name} if child.name else set()
                names |= {n for c in child.body for n in _rebound(c)}
            elif isinstance(child, ast.stmt):
                names |= _rebound(child)
    return names


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def static_findings(cells: list[tuple[str, bool]], references, task_names=()) -> list[Finding]:
    """Findings in the cells whose flag is True (the student's), reading every cell in order for aliases.

    ``cells``: (source, written_by_student) in execution order; unparsable cells are skipped. A student
    helper that uses a reference taints the code that calls it, except through ``task_names`` (every
    task's own objects: a reference-based ``LoRA`` zeroes the LoRA tasks, not the code that uses LoRA).
    """
    refs = reference_objects(references)
    if not refs:
        return []
    trees = []
    for source, is_student in cells:
        try:
            trees.append((ast.parse(_strip_magics(source)), is_student))
        except (SyntaxError, ValueError):
            continue

    def sweep(tainted: dict[str, str]) -> tuple[list[Finding], dict[str, str]]:
        static, findings, found = _Static(refs, task_names), [], {}
        static.tainted = tainted
        for tree, is_student in trees:
            for stmt in tree.body:
                if is_student:
                    names = _defined_names(stmt)
                    reasons = [r for r in static.uses(stmt) if not r.startswith(tuple(f"calls {n}," for n in names))]
                    findings += [Finding(names, reason) for reason in reasons]
                    for name in names - set(task_names) if reasons else ():
                        found.setdefault(name, reasons[0])
                static.bind(stmt)
        return findings, found

    tainted: dict[str, str] = {}
    for _ in range(5):                      # helpers of helpers, to a fixpoint
        findings, found = sweep(tainted)
        if found.keys() <= tainted.keys():
            return findings
        tainted = {**found, **tainted}
    return sweep(tainted)[0]


def findings_for(findings: list[Finding], task_names) -> list[str]:
    """The reasons that concern a task: findings attributed to one of its names (all of them if it names none)."""
    task_names = set(task_names or ())
    out = []
    for f in findings:
        if not task_names or f.names & task_names:
            where = ", ".join(sorted(f.names & task_names if task_names else f.names)[:5]) or "a cell"
            out.append(f"{where}: {f.reason}")
    return sorted(set(out))
