"""shopbox-setup's `up` and `down` through the fake engine: what runs on a fresh machine, what is reused or
started, and what is removed. The same code runs against the real engine in test_plan.py (docker tier) and for
real in the workshop tier."""

from __future__ import annotations

import pytest

from shopbox_setup import cluster
from shopbox_setup.generated import hosts_toml, registry_configmap
from shopbox_setup.runner import SetupError
from shopbox_setup.settings import Settings
from tests.shopbox.fake_runner import FakeEngine
from tests.shopbox.offline_image import versions

pytestmark = pytest.mark.unit

PINS = versions()
S = Settings(versions=PINS)
CERTS = "/etc/containerd/certs.d/localhost:5001"
APPLY = "docker exec -i shopbox-control-plane kubectl --kubeconfig=/etc/kubernetes/admin.conf apply -f -"


def created_cluster(engine: FakeEngine) -> FakeEngine:
    """kind's effect on the fake engine: the node exists once `kind create cluster` ran."""
    original = engine.run

    def run(argv, stdin=None):
        original(argv, stdin)
        if "create" in argv:
            engine.node("shopbox", "shopbox-control-plane")
            engine.networks.setdefault("kind", ["shopbox-control-plane"])
    engine.run = run  # type: ignore[method-assign]
    return engine


def test_fresh_machine():
    engine = created_cluster(FakeEngine())
    cluster.up(engine, S)
    assert engine.commands == [
        f"docker run -d --restart=always --name shopbox-registry -p 127.0.0.1:5001:5000 --network bridge "
        f"{PINS['REGISTRY_IMAGE']}",
        "kind create cluster --name shopbox --config=- --wait 2m",
        f"docker exec shopbox-control-plane mkdir -p {CERTS}",
        f"docker exec -i shopbox-control-plane cp /dev/stdin {CERTS}/hosts.toml",
        "docker network connect kind shopbox-registry",
        APPLY,
    ]
    assert f"image: {PINS['KIND_NODE_IMAGE']}" in engine.stdin_of("kind create")
    assert engine.stdin_of("hosts.toml") == hosts_toml(S)
    assert engine.stdin_of("kubectl") == registry_configmap(S)
    assert engine.emitted == ["kind get kubeconfig --internal --name shopbox"]


def test_another_network_is_handed_to_kind():
    s = Settings(versions=PINS, network="kind-test", cluster="c1")
    engine = FakeEngine()
    engine.node("c1", "c1-control-plane")
    cluster.up(engine, s)
    assert engine.emitted == ["env KIND_EXPERIMENTAL_DOCKER_NETWORK=kind-test kind get kubeconfig --internal --name c1"]
    assert "docker network connect kind-test shopbox-registry" in engine.commands


def test_a_dry_run_plans_for_the_node_kind_would_create():
    engine = FakeEngine(dry_run=True)  # kind does not run: no node appears
    cluster.up(engine, S)
    assert f"docker exec shopbox-control-plane mkdir -p {CERTS}" in engine.commands


def test_kind_without_the_node_is_an_error():
    with pytest.raises(SetupError, match="no container shopbox-control-plane"):
        cluster.up(FakeEngine(), S)


def test_existing_cluster_and_registry_are_reused():
    engine = FakeEngine(containers={"shopbox-registry": "running"}, networks={"kind": ["shopbox-registry"]})
    engine.node("shopbox", "shopbox-control-plane")
    cluster.up(engine, S)
    assert engine.commands == [
        f"docker exec shopbox-control-plane mkdir -p {CERTS}",
        f"docker exec -i shopbox-control-plane cp /dev/stdin {CERTS}/hosts.toml",
        APPLY,
    ]


def test_stopped_containers_are_started():
    engine = FakeEngine(containers={"shopbox-registry": "exited"}, networks={"kind": ["shopbox-registry"]})
    engine.node("shopbox", "shopbox-control-plane", "exited")
    engine.node("shopbox", "shopbox-worker", "running")
    engine.node("other", "other-control-plane", "exited")  # another cluster's node: not touched
    cluster.up(engine, S)
    assert engine.commands[:2] == ["docker start shopbox-registry", "docker start shopbox-control-plane"]
    assert f"docker exec shopbox-worker mkdir -p {CERTS}" in engine.commands


def test_the_node_image_of_a_loaded_bundle_is_used_by_its_tag():
    tag = PINS["KIND_NODE_IMAGE"].split("@")[0]
    engine = created_cluster(FakeEngine(images={tag}))
    cluster.up(engine, S)
    assert f"image: {tag}\n" in engine.stdin_of("kind create")


def test_cgroup_v1_engine_gets_the_kubelet_patches():
    engine = created_cluster(FakeEngine(cgroup="1"))
    cluster.up(engine, S)
    assert "failCgroupV1: false" in engine.stdin_of("kind create")


def test_down_removes_nodes_registry_and_the_network(capsys):
    engine = FakeEngine(containers={"shopbox-registry": "running"},
                        networks={"kind": ["shopbox-control-plane", "shopbox-registry"]})
    engine.node("shopbox", "shopbox-control-plane")
    cluster.down(engine, S)
    assert engine.commands == ["docker rm -f -v shopbox-control-plane", "docker rm -f -v shopbox-registry",
                               "docker network rm kind"]


def test_down_keeps_a_network_others_use_and_says_what_was_missing(capsys):
    engine = FakeEngine(networks={"kind": ["other-control-plane"]})
    cluster.down(engine, S)
    assert engine.commands == []
    err = capsys.readouterr().err
    assert "shopbox: no cluster shopbox" in err and "shopbox: no registry shopbox-registry" in err
    assert "network kind is still used by other containers: kept" in err


def test_local_is_the_registry_on_a_kind_network_made_as_kind_makes_it_and_no_cluster():
    engine = FakeEngine()
    cluster.local(engine, S)
    assert engine.commands == [
        f"docker run -d --restart=always --name shopbox-registry -p 127.0.0.1:5001:5000 --network bridge "
        f"{PINS['REGISTRY_IMAGE']}",
        "docker network create --driver bridge --opt com.docker.network.bridge.enable_ip_masquerade=true kind",
        "docker network connect kind shopbox-registry",
    ]
    assert engine.emitted == []


def test_local_reuses_a_running_registry_already_on_the_network():
    engine = FakeEngine(containers={"shopbox-registry": "running"}, networks={"kind": ["shopbox-registry"]})
    cluster.local(engine, S)
    assert engine.commands == []


def test_down_removes_the_joined_seats_forwarders_then_the_network_they_were_on(capsys):
    engine = FakeEngine(containers={"shopbox-registry": "running"},
                        networks={"kind": ["shopbox-seat-room-ana", "shopbox-registry"]})
    engine.labelled("shopbox-seat-room-ana", {"io.shopbox.seat": "room/ana"})
    engine.labelled("unrelated", {"app": "x"})
    cluster.down(engine, S)
    assert engine.commands == ["docker rm -f shopbox-seat-room-ana", "docker rm -f -v shopbox-registry",
                               "docker network rm kind"]
