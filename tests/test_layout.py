"""The package's layout holds: no import cycles, no private name imported from another
module, no family dispatch outside ``surrogates/``, no class over 400 lines.

Imports are read from the source (every ``import`` statement, at module level or inside a
function, except those under ``if TYPE_CHECKING:``, which annotations alone use), so a
cycle opened by a function-local import counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "surrogate"
#: the surrogate families' content classes: only surrogates/ may test for them
CONTENTS = {"LinearContent", "AdditiveContent", "RuleContent"}
MAX_CLASS_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _statements(tree: ast.AST):
    """Every statement, skipping the bodies of ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if _is_type_checking(node):
            for other in node.orelse:
                yield other
                yield from _statements(other)
            continue
        yield node
        yield from _statements(node)


def _owner(dotted: str) -> str | None:
    """The package module that ``dotted`` (a module or a name in one) lives in."""
    while dotted and dotted not in MODULES:
        dotted = dotted.rpartition(".")[0]
    return dotted or None


def _imported(name: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = name.split(".") if MODULES[name].name == "__init__.py" else name.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(name: str) -> set[str]:
    """The package modules ``name`` imports."""
    found = set()
    for node in _statements(TREES[name]):
        if isinstance(node, ast.Import):
            found |= {_owner(alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = _imported(name, node)
            if not module.startswith("surrogate"):
                continue
            found |= {_owner(f"{module}.{alias.name}") for alias in node.names}
    return {m for m in found if m is not None and m != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def test_no_import_cycles():
    graph = {name: _imports(name) for name in MODULES}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_function_local_imports_count_and_annotation_imports_do_not():
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from .render import text\n"
        "def f():\n    from .store import lock_folder\n"
    )
    MODULES["surrogate.probe"] = PACKAGE / "probe.py"
    TREES["surrogate.probe"] = ast.parse(source)
    try:
        assert _imports("surrogate.probe") == {"surrogate.store"}
    finally:
        del MODULES["surrogate.probe"], TREES["surrogate.probe"]


def _private_imports(name: str) -> list[str]:
    return [
        f"{name}: {alias.name} (line {node.lineno})"
        for node in _statements(TREES[name])
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name.startswith("_")
        and not alias.name.startswith("__")
        and f"{_imported(name, node)}.{alias.name}" not in MODULES  # a module, not a name
    ]


def test_no_private_name_is_imported_across_modules():
    assert [p for name in MODULES for p in _private_imports(name)] == []


def test_no_family_dispatch_outside_the_surrogates_package():
    """Behaviour that differs by family belongs to the family's content (or a renderer
    registered per family), not to ``isinstance`` tests spread through the package."""
    found = []
    for name, tree in TREES.items():
        if name.startswith("surrogate.surrogates"):
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "isinstance"
                and len(node.args) == 2
                and CONTENTS & {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
            ):
                found.append(f"{name}:{node.lineno}")
    assert found == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_class_over_400_lines(name):
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(TREES[name])
        if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES
    ]
    assert long == []
