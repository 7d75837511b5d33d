"""The import graph between the project's packages, and its cycles (issue 13's before/after).

    .venv/bin/python -m devtools.import_graph [--root DIR]

Counts every import statement (also those inside functions) between second-level packages (bot.store,
bot.usecases, …; a top-level module such as bot.views counts as its own package) with grimp, the library
import-linter is built on, and prints the edges with how many module-level imports make each, then every
cycle between packages (strongly connected components). --root reads another checkout (e.g. a git worktree
of an older commit).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Set

import grimp

PACKAGES = ("bot", "actions", "devtools")


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "bot" else parts[0]


def package_edges(root: Path) -> Counter:
    sys.path.insert(0, str(root))
    present = [p for p in PACKAGES if (root / p).is_dir()]
    graph = grimp.build_graph(*present, cache_dir=None)
    edges: Counter = Counter()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            source, target = package_of(module), package_of(imported)
            if source != target and target.split(".")[0] in PACKAGES:
                edges[(source, target)] += 1
    return edges


def cycles(edges: Counter) -> List[List[str]]:
    """Strongly connected components with more than one package (Tarjan)."""
    graph: Dict[str, Set[str]] = {}
    for source, target in edges:
        graph.setdefault(source, set()).add(target)
        graph.setdefault(target, set())
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args(argv)
    edges = package_edges(args.root.resolve())
    print(f"# import graph between packages ({args.root})")
    for (source, target), count in sorted(edges.items()):
        print(f"{source:<16} -> {target:<16} {count:>3}")
    found = cycles(edges)
    print(f"# cycles between packages: {len(found)}")
    for component in found:
        print("  " + " <-> ".join(component))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
