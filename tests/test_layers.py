"""The package's import graph has no cycles (the layers themselves: lint-imports)."""

from __future__ import annotations

import grimp


def _cycles(graph) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if not imported.startswith("searchsvc"):
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return groups


def test_no_module_imports_itself_back():
    assert _cycles(grimp.build_graph("searchsvc")) == []


def test_a_cycle_would_be_found(tmp_path):
    graph = grimp.ImportGraph()
    for name in ("searchsvc.a", "searchsvc.b", "searchsvc.c"):
        graph.add_module(name)
    graph.add_import(importer="searchsvc.a", imported="searchsvc.b")
    graph.add_import(importer="searchsvc.b", imported="searchsvc.a")
    graph.add_import(importer="searchsvc.b", imported="searchsvc.c")
    assert _cycles(graph) == [["searchsvc.a", "searchsvc.b"]]
