#!/usr/bin/env python3
"""Fails when modules of a crate import each other in a circle, or when SQL text sits outside the
files that may hold it. Reads `use crate::…` and `crate::…::` paths in the sources; a module is a
top-level directory or file of src/ (or a room of the gateway: edge, api, pages, …).

    scripts/check-layers.py            check both crates, print the module graph
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The ground floor every domain may use; it must not use the domains.
CORE_GROUND = {"error", "ids", "config", "clock", "secret", "context", "page", "store", "openapi", "measure", "lib"}


def modules(src: Path):
    """Map each source file to its top-level module."""
    for path in src.rglob("*.rs"):
        rel = path.relative_to(src)
        top = rel.parts[0]
        yield path, top[:-3] if top.endswith(".rs") else top


def graph(src: Path):
    edges = {}
    for path, module in modules(src):
        text = path.read_text()
        # Strip comments so a doc link does not count as a use.
        text = re.sub(r"//[^\n]*", "", text)
        # `crate::name!` is a macro (exported at the crate root), not a module.
        for target in re.findall(r"crate::([a-z_][a-z0-9_]*)", text):
            # `params` is the SQL parameter macro, exported at the crate root: not a module.
            if target != module and target != "params":
                edges.setdefault(module, set()).add(target)
        # `use super::x` from a file directly under src/ would be the crate root: ignored.
    return edges


def cycles(edges):
    """Strongly connected components with more than one module."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(set(edges) | {w for ws in edges.values() for w in ws}):
        if v not in index:
            visit(v)
    return out


def sql_outside_stores(src: Path):
    found = []
    sql = re.compile(r'"\s*(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b')
    for path in src.rglob("*.rs"):
        rel = path.relative_to(src)
        if rel.name == "store.rs" or rel.parts[0] == "store" or "store" in rel.parts[:-1]:
            continue
        if sql.search(path.read_text()):
            found.append(str(rel))
    return found


def main():
    failed = False
    core = ROOT / "auth-core/src"
    edges = graph(core)
    print("auth-core: who uses whom")
    for module in sorted(edges):
        print(f"  {module:14} -> {', '.join(sorted(edges[module]))}")
    for ground in CORE_GROUND - {"lib"}:
        upward = sorted(t for t in edges.get(ground, ()) if t not in CORE_GROUND)
        if upward:
            print(f"FAIL: ground-floor module {ground} uses {upward}")
            failed = True
    # The ground floor is one storey: its modules may use each other. Above it, no circles.
    domains = {m: {t for t in ts if t not in CORE_GROUND} for m, ts in edges.items() if m not in CORE_GROUND}
    for component in cycles(domains):
        print(f"FAIL: auth-core domain modules in a circle: {component}")
        failed = True
    for rel in sql_outside_stores(core):
        print(f"FAIL: SQL text outside a store: auth-core/src/{rel}")
        failed = True

    gateway = ROOT / "auth-gateway/src"
    edges = graph(gateway)
    print("auth-gateway: who uses whom")
    for module in sorted(edges):
        print(f"  {module:14} -> {', '.join(sorted(edges[module]))}")
    for component in cycles(edges):
        print(f"FAIL: auth-gateway modules in a circle: {component}")
        failed = True
    print("layers: FAILED" if failed else "layers: ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
