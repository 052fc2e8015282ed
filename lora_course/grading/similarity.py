"""How close a student's answer is to the package's reference, for the instructor: a signal, never a grade.

Both sides are reduced to a token stream of their syntax tree: node kinds, operators, attribute names and
constants' kinds, with every name the author chose (variables, arguments, functions, classes) replaced by the
order in which it first appears, and docstrings and comments gone. A pasted copy with renamed variables and new
comments is then (almost) identical; an own solution of the same formula is not, because the reference's
validation, shapes and structure differ. The figure is difflib's ratio of the two streams, 0 to 1;
``FLAG`` is calibrated in tests/test_grading_forge.py on honest solutions written in different styles.
"""

from __future__ import annotations

import ast
import difflib
import functools
import inspect
import textwrap

from lora_course.feedback.reference_names import resolve

FLAG = 0.8          # calibrated: the highest honest solution scores well below, pasted copies at or near 1
MAX_TOKENS = 4000
CACHED_CHARS = 200_000   # sources up to this long keep their tokens (a submission may hold 20 MB in one cell)


def tokens(source: str) -> list[str]:
    """The normalised token stream of ``source`` (empty if it does not parse)."""
    return list(_tokens(source))


def _tokens(source: str) -> tuple[str, ...]:
    """``tokens`` as a tuple, kept per source text up to ``CACHED_CHARS``: every student's answer is compared with
    the same references, and the grader holds no more than 256 short sources."""
    return _kept_tokens(source) if len(source) <= CACHED_CHARS else _token_stream(source)


def _token_stream(source: str) -> tuple[str, ...]:
    try:
        tree = ast.parse(textwrap.dedent(source))
    except (SyntaxError, ValueError, RecursionError):
        return ()
    for node in ast.walk(tree):                     # docstrings carry no structure
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    names: dict[str, str] = {}
    out: list[str] = []

    def name(text: str) -> str:
        return names.setdefault(text, f"v{len(names)}")

    for node in ast.walk(tree):
        kind = type(node).__name__
        if isinstance(node, ast.Name):
            out.append(name(node.id))
        elif isinstance(node, ast.arg):
            out.append("arg:" + name(node.arg))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.append(kind + ":" + name(node.name))
        elif isinstance(node, ast.Attribute):
            out.append("." + node.attr)
        elif isinstance(node, ast.Constant):
            out.append("const:" + type(node.value).__name__)
        elif isinstance(node, (ast.operator, ast.cmpop, ast.unaryop, ast.boolop)):
            out.append(kind)
        elif not isinstance(node, (ast.expr_context, ast.Module, ast.Expr, ast.Load, ast.Store)):
            out.append(kind)
        if len(out) >= MAX_TOKENS:
            break
    return tuple(out)


_kept_tokens = functools.lru_cache(maxsize=256)(_token_stream)


def similarity(a: str, b: str) -> float:
    """0..1: how alike two sources are once names, comments and docstrings are set aside."""
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return 0.0
    return difflib.SequenceMatcher(None, ta, tb, autojunk=False).ratio()


def reference_sources(references) -> dict[str, str]:
    """Dotted name -> source of each reference function or class that has one."""
    out = {}
    for dotted in references:
        obj = resolve(dotted)
        try:
            out[dotted] = inspect.getsource(obj)
        except (TypeError, OSError):
            continue
    return out


def task_source(cells: list[str], task_names) -> str:
    """The top-level definitions of ``task_names`` in the student's answer cells ('' if none)."""
    wanted = []
    for source in cells:
        try:
            tree = ast.parse("\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.split("\n")))
        except (SyntaxError, ValueError):
            continue
        for stmt in tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and stmt.name in set(task_names):
                wanted.append(ast.unparse(stmt))
    return "\n\n".join(wanted)


def parts(source: str) -> list[str]:
    """``source`` itself and each of its top-level functions and classes (a pasted one hides in a long text)."""
    out = [source]
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return out
    return out + [ast.unparse(s) for s in tree.body if isinstance(s, (ast.FunctionDef, ast.ClassDef))][:200]


def closest(source: str, references: dict[str, str]) -> tuple[float, str]:
    """The highest similarity of ``source`` to any reference, and that reference's name ((0, '') if none)."""
    best = (0.0, "")
    for dotted, ref in sorted(references.items()):
        score = similarity(source, ref)
        if score > best[0]:
            best = (score, dotted)
    return best
