"""The seams hold: the real implementations and the in-memory fakes offer exactly what the interfaces declare
(so a fake cannot drift from what forge calls), the tree has no import cycle, and no module imports from a layer
after its own (forge/ARCHITECTURE.md)."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from classroom.api import ClassAPI, KubeClassAPI
from forge.cluster import ClusterAPI
from forge.cluster.kube import Cluster
from forge.images import ImageEngine, ImageStore
from forge.images.buildkit import BuildxEngine
from forge.images.engine import DockerEngine
from forge.images.registry import Registry
from tests.classroom.fake_api import FakeClassAPI
from tests.forge import import_graph
from tests.forge.fakes import FakeCluster, FakeEngine, FakeRegistry

pytestmark = pytest.mark.unit


def declared(protocol: type) -> dict[str, inspect.Signature | None]:
    """The interface's methods (with their signatures) and attributes (None)."""
    members: dict[str, inspect.Signature | None] = {name: None for name in protocol.__annotations__}
    for name, value in vars(protocol).items():
        if not name.startswith("_"):
            members[name] = inspect.signature(value) if callable(value) else None
    return members


def parameters(signature: inspect.Signature) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


@pytest.mark.parametrize(("protocol", "implementation"), [
    (ClusterAPI, Cluster), (ClusterAPI, FakeCluster),
    (ImageEngine, DockerEngine), (ImageEngine, BuildxEngine), (ImageEngine, FakeEngine),
    (ImageStore, Registry), (ImageStore, FakeRegistry),
    (ClassAPI, KubeClassAPI), (ClassAPI, FakeClassAPI),
], ids=lambda c: c.__name__)
def test_implementations_match_their_interface(protocol: type, implementation: type) -> None:
    for name, signature in declared(protocol).items():
        if signature is None:  # an attribute (or property): set by the constructor or the class
            continue
        method = getattr(implementation, name, None)
        assert callable(method), f"{implementation.__name__} has no {name}()"
        assert parameters(inspect.signature(method)) == parameters(signature), f"{implementation.__name__}.{name}"


def test_no_import_cycles() -> None:
    edges = import_graph.graph()
    assert "forge.cluster.apply" in edges["forge.verbs.deploy"]  # the graph sees imports at all
    assert import_graph.cycle(edges) is None
    assert import_graph.cycle(import_graph.units(edges)) is None


def test_the_cycle_check_can_fail() -> None:
    assert import_graph.cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_every_module_is_in_a_layer_and_imports_no_later_one() -> None:
    edges = import_graph.graph()
    assert import_graph.upward(edges) == []
    assert {import_graph.layer(name) for name in edges} == set(range(len(import_graph.LAYERS)))  # all are used


def test_the_layer_check_can_fail() -> None:
    """The two imports issue 23 moved: an image version reading templates, canary status borrowing the registry's
    error wording."""
    edges = {"forge.images.version": {"forge.manifests.render"}, "forge.verbs.canary_status": {"forge.network"},
             "forge.manifests.render": {"forge.config.workspace"}, "forge.cli": {"forge.verbs.deploy"}}
    assert import_graph.upward(edges) == [("forge.images.version", "forge.manifests.render")]
    with pytest.raises(ValueError, match=r"forge\.extra is in no layer"):
        import_graph.layer("forge.extra")


def test_the_interfaces_load_no_client() -> None:
    """Each group's __init__ (its interface) is light: importing them all loads neither client package."""
    code = ("import sys, forge.config, forge.images, forge.manifests, forge.cluster, forge.verbs; "
            "print(sorted(m for m in ('kubernetes', 'docker') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
