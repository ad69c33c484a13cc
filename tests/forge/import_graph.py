"""forge's module graph from its source (ast): modules, import edges, top-level units (a package such as
forge.cluster counts as one), cycles, and the layers (forge/ARCHITECTURE.md): which edges go upward, from a layer
to a later one. `python -m tests.forge.import_graph [CHECKOUT]` prints the counts (the numbers issues 16 and 23
report), e.g. for main's checkout beside this one."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
Graph = dict[str, set[str]]

# forge/ARCHITECTURE.md's layers, first to last: a module may import from its own layer and earlier ones only.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("forge", "forge.errors", "forge.model", "forge.output", "forge.progress", "forge.network")),
    ("config", ("forge.config",)),
    ("images", ("forge.images",)),
    ("manifests", ("forge.manifests",)),
    ("cluster", ("forge.cluster", "forge.prometheus")),
    ("plan", ("forge.plan",)),
    ("run context", ("forge.context",)),
    ("verbs", ("forge.verbs",)),
    ("cli", ("forge.commands", "forge.cli", "forge.__main__")),
]


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the forge package (a package is its __init__)."""
    found = {}
    for path in sorted((root / "forge").rglob("*.py")):
        name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        found[name] = path
    return found


def _imported(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def graph(root: Path = ROOT) -> Graph:
    """Module -> the forge modules it imports (at any place in the file, lazy imports included)."""
    found = modules(root)
    edges: Graph = {name: set() for name in found}
    for name, path in found.items():
        for target in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            while target and target not in found:  # `from forge.x import y`: y is a name in module forge.x
                target = target.rpartition(".")[0]
            if target and target not in (name, "forge"):
                edges[name].add(target)
    return edges


def unit(name: str) -> str:
    """forge.cluster.apply -> forge.cluster; forge.verbs.deploy -> forge.verbs.deploy."""
    return ".".join(name.split(".")[:2])


def units(edges: Graph) -> Graph:
    merged: Graph = {}
    for name, targets in edges.items():
        merged.setdefault(unit(name), set()).update(unit(t) for t in targets if unit(t) != unit(name))
    return merged


def layer(name: str) -> int:
    """The index in LAYERS of a module (the longest name that is it or a package holding it; the root package `forge`
    holds nothing here); ValueError for a module in no layer."""
    found = [(len(prefix), index) for index, (_, prefixes) in enumerate(LAYERS) for prefix in prefixes
             if name == prefix or (prefix != "forge" and name.startswith(prefix + "."))]
    if not found:
        raise ValueError(f"{name} is in no layer: add it to LAYERS (tests/forge/import_graph.py) and ARCHITECTURE.md")
    return max(found)[1]


def upward(edges: Graph) -> list[tuple[str, str]]:
    """The imports from a layer to a later one (each a stage reaching into one that builds on it)."""
    return sorted((name, target) for name, targets in edges.items() for target in targets
                  if layer(target) > layer(name))


def cycle(edges: Graph) -> list[str] | None:
    """One import cycle (as a path that returns to its start), or None."""
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> list[str] | None:
        if name in trail:
            return [*trail[trail.index(name):], name]
        if name in done:
            return None
        for target in sorted(edges.get(name, ())):
            found = visit(target, [*trail, name])
            if found:
                return found
        done.add(name)
        return None

    return next((c for c in (visit(name, []) for name in sorted(edges)) if c), None)


def _upward_or_unknown(edges: Graph) -> str:
    try:
        return str(len(upward(edges)))
    except ValueError as err:  # an older checkout, laid out before the layers
        return f"unknown ({err})"


def summary(root: Path = ROOT) -> str:
    edges = graph(root)
    merged = units(edges)
    return (f"{root}: {len(edges)} modules, {sum(map(len, edges.values()))} import edges; "
            f"{len(merged)} top-level units, {sum(map(len, merged.values()))} edges between them; "
            f"cycles: {cycle(edges) or 'none'}; upward edges: {_upward_or_unknown(edges)}")


if __name__ == "__main__":
    for checkout in sys.argv[1:] or [str(ROOT)]:
        print(summary(Path(checkout)))
