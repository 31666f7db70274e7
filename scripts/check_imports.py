#!/usr/bin/env python3
"""Walk ``pneumo_desktop``'s imports and check the house's layering.

Every ``import`` and ``from ... import`` counts, including those inside functions (a deferred
import is still an arrow). It reports, and exits 1 on any of:

* an import circle between the package's modules;
* an arrow from ``core`` to ``gui``, ``cli``, ``cluster``, the entry layer or Qt;
* an arrow from ``cli`` to ``gui``, the entry layer or Qt; from ``gui`` to ``cli``, ``cluster`` or the entry layer;
* a module over ``--max-lines`` lines (800).

Usage: ``python scripts/check_imports.py [--max-lines N] [--json]``
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "pneumo_desktop"
ENTRY_MODULES = {f"{PACKAGE}.__main__", f"{PACKAGE}.selftest"}


def module_name(path: Path, package_dir: Path) -> str:
    parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names (relative levels resolved)."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(path: Path, module: str, known: set[str]) -> dict[str, int]:
    """``{imported module: first line}`` for one file; names imported from a package that are
    themselves modules (``from . import cli``) count as that module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: dict[str, int] = {}
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = resolve(module, is_package, node)
            targets = [base]
            targets += [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
        for target in targets:
            found.setdefault(target, node.lineno)
    return found


def build_graph(package_dir: Path) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    files = {module_name(p, package_dir): p for p in sorted(package_dir.rglob("*.py"))}
    known = set(files)
    graph: dict[str, dict[str, int]] = {}
    lines: dict[str, int] = {}
    for module, path in files.items():
        lines[module] = len(path.read_text(encoding="utf-8").splitlines())
        graph[module] = imports_of(path, module, known)
    return graph, lines


def _inside(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; returns the components of more than one module (circles)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    circles: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
    return circles


def check(package_dir: Path, max_lines: int = 800) -> dict:
    graph, lines = build_graph(package_dir)
    internal = {m: {t for t in targets if t in graph and t != m} for m, targets in graph.items()}
    core, gui, cli, cluster = f"{PACKAGE}.core", f"{PACKAGE}.gui", f"{PACKAGE}.cli", f"{PACKAGE}.cluster"
    bad_arrows = []
    for source, targets in graph.items():
        for target, line in targets.items():
            outside_core = (_inside(target, gui) or _inside(target, cli) or _inside(target, cluster)
                            or target in ENTRY_MODULES or _inside(target, "PySide6"))
            if _inside(source, core) and outside_core:
                bad_arrows.append(f"{source} -> {target} (line {line}): the core must not import it")
            if _inside(source, cli) and (_inside(target, gui) or target in ENTRY_MODULES or _inside(target, "PySide6")):
                bad_arrows.append(f"{source} -> {target} (line {line}): the command line must not import it")
            if _inside(source, gui) and (_inside(target, cli) or _inside(target, cluster) or target in ENTRY_MODULES):
                bad_arrows.append(f"{source} -> {target} (line {line}): the GUI must not import it")
    too_long = {m: n for m, n in sorted(lines.items()) if n > max_lines}
    return {
        "modules": len(graph),
        "arrows": sum(len(t) for t in internal.values()),
        "circles": strongly_connected(internal),
        "bad_arrows": bad_arrows,
        "too_long": too_long,
        "longest": sorted(lines.items(), key=lambda kv: -kv[1])[:5],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-lines", type=int, default=800)
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    args = parser.parse_args(argv)
    report = check(ROOT / PACKAGE, args.max_lines)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['modules']} modules, {report['arrows']} arrows between them (imports inside functions counted)")
        for circle in report["circles"]:
            print("circle: " + " <-> ".join(circle))
        for arrow in report["bad_arrows"]:
            print("forbidden: " + arrow)
        for module, n in report["too_long"].items():
            print(f"too long: {module} has {n} lines (at most {args.max_lines})")
        print("longest: " + ", ".join(f"{m} {n}" for m, n in report["longest"]))
    failed = report["circles"] or report["bad_arrows"] or report["too_long"]
    print("FAILED" if failed else "OK: no circle, no forbidden arrow, no module too long")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
