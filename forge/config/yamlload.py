"""YAML loading with a bound on alias expansion: an alias bomb (`a: &a [x, x]`, `b: &b [*a, *a]`, ...) is a few
lines of text but billions of values once anything walks it (schema checks, hashing, rendering), so it is refused
before any value is built."""

from __future__ import annotations

from typing import Any

import yaml

from forge.errors import ForgeError

# Values (scalars, lists, mappings) a document may have with every alias expanded. The workshop's largest file,
# a rendered Envoy config, has about 1,000.
MAX_EXPANDED_VALUES = 100_000


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def check_expansion(root: yaml.Node, shown: str) -> None:
    """Raise ForgeError when `root` expands (aliases followed) to more than MAX_EXPANDED_VALUES values or refers
    to itself. Iterative, and each node is counted once (shared nodes are multiplied, not walked again)."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, list[yaml.Node] | None]] = [(root, None)]  # (node, its children once entered)
    while stack:
        node, children = stack.pop()
        key = id(node)
        if children is not None:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[key] > MAX_EXPANDED_VALUES:
                raise ForgeError(f"{shown}: YAML aliases expand to more than {MAX_EXPANDED_VALUES} values "
                                 "(an alias bomb?); refusing to load it")
            continue
        if key in sizes:
            continue
        children = _children(node)
        on_path.add(key)
        stack.append((node, children))
        for child in children:
            if id(child) in on_path:
                line = child.start_mark.line + 1
                raise ForgeError(f"{shown}:{line}: a YAML alias refers to a value that contains it")
            if isinstance(child, yaml.ScalarNode):
                sizes[id(child)] = 1  # most values: counted here, not pushed and popped twice
            elif id(child) not in sizes:
                stack.append((child, None))


def load_all(text: str, shown: str, loader: type[Any] = yaml.SafeLoader) -> list[Any]:
    """Every document of `text`, each checked with check_expansion before it is built. yaml.YAMLError for
    invalid YAML (the caller words it)."""
    parser = loader(text)
    try:
        documents = []
        while parser.check_node():
            node = parser.get_node()
            check_expansion(node, shown)
            documents.append(parser.construct_document(node))
        return documents
    finally:
        parser.dispose()


def load_one(text: str, shown: str) -> Any:
    """The single document of `text` (None when empty), checked like load_all; more than one is a YAMLError."""
    parser = yaml.SafeLoader(text)
    try:
        node = parser.get_single_node()
        if node is None:
            return None
        check_expansion(node, shown)
        return parser.construct_document(node)
    finally:
        parser.dispose()
