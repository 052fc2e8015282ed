"""The package's layout rules (docs/architecture.md): imports run one way, modules stay small, no shadowing."""

from __future__ import annotations

import ast
import graphlib
import importlib
import types
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "lora_course"
MATHS = {"validation", "cache_check", "paper", "layer", "merge", "lowrank", "gradcheck", "analysis", "multi_lora",
         "dora", "pissa", "nf4", "loraplus"}
MAX_LINES = 320          # "about 300"
# The clean grading interpreter's program is sent whole as one ``python -I -c`` source and may import nothing of the
# package (that is its point), so it cannot be split into modules the way the rest can.
ONE_PROGRAM = {"lora_course.grading.clean_driver": 360}


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        parts = path.relative_to(PKG.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imported(path: Path) -> set[str]:
    """Every lora_course module a file imports (absolute imports; the package uses no relative ones)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import of {node.module!r}; use lora_course.<...>"
            if node.module and node.module.startswith("lora_course"):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("lora_course"))
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports, at the top or inside a function.

    ``from lora_course.x import y`` is an edge to ``lora_course.x.y`` when that is a module, else to
    ``lora_course.x``.
    """
    known = modules()
    graph = {}
    for name, path in known.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lora_course"):
                subs = {f"{node.module}.{a.name}" for a in node.names} & set(known)
                targets |= subs or {node.module}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.startswith("lora_course")}
        graph[name] = targets - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a closed path [a, b, ..., a], or None when it has none."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as err:
        return list(reversed(err.args[1]))
    return None


def part(module: str) -> str:
    """The layer a module belongs to: 'maths' or its subpackage ('toy', 'lessons', 'feedback', ...)."""
    rest = module.split(".")[1:]
    if not rest:
        return "root"
    return "maths" if rest[0] in MATHS else rest[0]


# which parts each part may import (besides itself)
ALLOWED = {
    "maths": {"maths"},
    "measure": {"maths"},
    "support": {"maths", "root", "lessons"},     # live widgets render a lesson's numbers; the workspace copies lessons
    "toy": {"maths", "measure"},
    "lessons": {"maths", "toy", "measure", "support"},
    "feedback": {"maths", "toy", "lessons", "measure", "feedback"},
    "authoring": {"maths"},
    "grading": {"maths", "feedback", "authoring", "lessons", "measure", "support", "root"},   # support: startup.py
    "torch_bridge": {"maths", "toy", "lessons", "measure", "support", "feedback"},
    "gradescope": {"grading", "authoring", "support", "root"},      # support: startup.py, before nbformat loads
    "cli": {"maths", "toy", "lessons", "measure", "support", "feedback", "authoring", "grading", "torch_bridge",
            "gradescope", "root"},
    "root": set(),
}


@pytest.mark.parametrize("name", sorted(modules()))
def test_imports_run_one_way(name):
    mine = part(name)
    bad = sorted(m for m in imported(modules()[name]) if part(m) != mine and part(m) not in ALLOWED[mine])
    assert not bad, f"{name} ({mine}) imports {bad}; docs/architecture.md allows {mine} only {sorted(ALLOWED[mine])}"


def test_no_import_cycle_anywhere_in_the_package():
    cycle = find_cycle(import_graph())
    assert cycle is None, f"import cycle: {' -> '.join(cycle)}; move what both need into a third module"


def test_the_cycle_check_finds_a_cycle_and_accepts_a_chain():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    cycle = find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    assert find_cycle({"x": {"x"}}) == ["x", "x"]


def test_the_graph_sees_imports_inside_functions_and_from_package_imports():
    graph = import_graph()
    assert "lora_course.torch_bridge.bench_cli" in graph["lora_course.cli.bench"]  # imported inside run()
    assert "lora_course.torch_bridge.bench" in graph["lora_course.torch_bridge.bench_report"]


@pytest.mark.parametrize("name", sorted(modules()))
def test_modules_stay_small(name):
    lines, limit = len(modules()[name].read_text().splitlines()), ONE_PROGRAM.get(name, MAX_LINES)
    assert lines <= limit, f"{name} has {lines} lines; split it by concept (limit about 300)"


def test_no_name_shadows_a_submodule():
    for name in modules():
        if name == "lora_course" or name.startswith("lora_course.torch_bridge"):   # torch_bridge needs the extra
            continue
        importlib.import_module(name)
        parent, _, leaf = name.rpartition(".")
        assert isinstance(getattr(importlib.import_module(parent), leaf), types.ModuleType), \
            f"{parent}.{leaf} is not the module {name}: something in {parent} shadows it"
