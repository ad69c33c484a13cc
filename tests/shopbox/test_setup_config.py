"""shopbox-setup without an engine: settings from SHOPBOX_* and versions.env, the generated kind config,
hosts.toml and ConfigMap, the dry-run plan format, the bundle's images, and one-line errors."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml

from shopbox_setup import bundle, cli, settings
from shopbox_setup.engine import tag_of
from shopbox_setup.generated import class_kind_config, hosts_toml, hosts_toml_dir, kind_config, registry_configmap
from shopbox_setup.runner import Commands
from shopbox_setup.settings import EDGE_NODE_PORT, PROMETHEUS_NODE_PORT, Settings
from tests.shopbox.fake_runner import FakeEngine
from tests.shopbox.offline_image import ROOT, versions

pytestmark = pytest.mark.unit

PINS = versions()
S = Settings(versions=PINS)


# --- settings ----------------------------------------------------------------------------------------------


def test_settings_default_to_the_participants_names():
    s = settings.from_env({})
    assert (s.cluster, s.registry, s.network) == ("shopbox", "shopbox-registry", "kind")
    assert (s.registry_port, s.api_port, s.edge_port, s.prometheus_port) == (5001, 6443, 8080, 9090)
    assert s.versions == PINS and s.node_label == "io.x-k8s.kind.cluster=shopbox"


def test_settings_follow_the_environment(tmp_path):
    path = tmp_path / "versions.env"
    path.write_text("KIND_NODE_IMAGE=node:1\nREGISTRY_IMAGE=reg:2\n")
    s = settings.from_env({"SHOPBOX_CLUSTER": "c", "SHOPBOX_API_PORT": "7443", "SHOPBOX_VERSIONS_FILE": str(path),
                           "SHOPBOX_KIND_NETWORK": "n", "SHOPBOX_REGISTRY_NAME": "r"})
    assert (s.cluster, s.api_port, s.network, s.registry) == ("c", 7443, "n", "r")
    assert s.pin("REGISTRY_IMAGE") == "reg:2"


@pytest.mark.parametrize(("environ", "message"), [
    ({"SHOPBOX_API_PORT": "x"}, "SHOPBOX_API_PORT=x: expected a port number"),
    ({"SHOPBOX_EDGE_PORT": "70000"}, "SHOPBOX_EDGE_PORT=70000: expected a port number"),
])
def test_a_bad_port_is_named(environ, message, capsys, monkeypatch):
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["up"]) == 1
    assert capsys.readouterr().err == f"shopbox: error: {message} (1-65535)\n"


def test_versions_errors_name_the_file(tmp_path, capsys, monkeypatch):
    path = tmp_path / "versions.env"
    monkeypatch.setenv("SHOPBOX_VERSIONS_FILE", str(path))
    path.write_text("KIND_NODE_IMAGE=node:1\n")
    assert cli.main(["down"]) == 1
    assert capsys.readouterr().err == f"shopbox: error: {path}: REGISTRY_IMAGE is missing or empty\n"
    path.write_text("kind = 1\n")
    assert cli.main(["down"]) == 1
    assert capsys.readouterr().err.startswith(f"shopbox: error: {path}:1: expected KEY=value")


# --- generated configuration -------------------------------------------------------------------------------


def test_kind_config():
    config = yaml.safe_load(kind_config(S, PINS["KIND_NODE_IMAGE"], cgroup_v1=False))
    assert config["kind"] == "Cluster" and config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert config["name"] == "shopbox"
    assert config["networking"] == {"apiServerAddress": "127.0.0.1", "apiServerPort": 6443}
    assert config["nodes"] == [{"role": "control-plane", "image": PINS["KIND_NODE_IMAGE"], "extraPortMappings": [
        {"containerPort": 30080, "hostPort": 8080, "listenAddress": "127.0.0.1", "protocol": "TCP"},
        {"containerPort": 30090, "hostPort": 9090, "listenAddress": "127.0.0.1", "protocol": "TCP"}]}]
    patch = tomllib.loads(config["containerdConfigPatches"][0])
    assert patch["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["config_path"] == "/etc/containerd/certs.d"
    assert "kubeadmConfigPatches" not in config


def test_class_kind_config_has_workers_and_publishes_only_the_api_server():
    config = yaml.safe_load(class_kind_config("c", "node:1", "172.17.0.1", 7443, workers=2, cgroup_v1=True))
    assert config["name"] == "c"
    assert config["networking"] == {"apiServerAddress": "172.17.0.1", "apiServerPort": 7443}
    assert config["nodes"] == [{"role": "control-plane", "image": "node:1"}, {"role": "worker", "image": "node:1"},
                               {"role": "worker", "image": "node:1"}]
    kinds = [yaml.safe_load(patch)["kind"] for patch in config["kubeadmConfigPatches"]]
    assert kinds == ["KubeletConfiguration", "InitConfiguration", "JoinConfiguration"]
    assert "kubeadmConfigPatches" not in yaml.safe_load(class_kind_config("c", "n", "a", 1, 0, cgroup_v1=False))


def test_kind_config_follows_the_settings():
    s = Settings(versions=PINS, api_port=7443, cluster="other", edge_port=18080, prometheus_port=19090)
    config = yaml.safe_load(kind_config(s, "node:1", cgroup_v1=False))
    assert config["name"] == "other" and config["networking"]["apiServerPort"] == 7443
    assert [m["hostPort"] for m in config["nodes"][0]["extraPortMappings"]] == [18080, 19090]


def test_kind_config_on_a_cgroup_v1_engine_turns_the_kubelet_check_off():
    config = yaml.safe_load(kind_config(S, "node:1", cgroup_v1=True))
    patches = [yaml.safe_load(p) for p in config["kubeadmConfigPatches"]]
    assert patches == [
        {"kind": "KubeletConfiguration", "failCgroupV1": False},
        {"kind": "InitConfiguration", "nodeRegistration": {"ignorePreflightErrors": ["SystemVerification"]}},
        {"kind": "JoinConfiguration", "nodeRegistration": {"ignorePreflightErrors": ["SystemVerification"]}},
    ]


def test_node_ports_match_the_services():
    """The NodePorts kind maps to the host are the ones the edge and Prometheus Services ask for."""
    for descriptor, port in (("envoy-canary/envoy/service.yaml", EDGE_NODE_PORT),
                             ("prometheus-canary/service.yaml", PROMETHEUS_NODE_PORT)):
        assert yaml.safe_load((ROOT / descriptor).read_text())["node_port"] == port


def test_hosts_toml_points_localhost_port_at_the_registry_container():
    assert hosts_toml_dir(S) == "/etc/containerd/certs.d/localhost:5001"
    assert tomllib.loads(hosts_toml(S)) == {"host": {"http://shopbox-registry:5000": {}}}
    other = Settings(registry_port=5002, registry="reg")
    assert hosts_toml_dir(other) == "/etc/containerd/certs.d/localhost:5002"
    assert tomllib.loads(hosts_toml(other)) == {"host": {"http://reg:5000": {}}}


def test_registry_configmap_follows_kep_1755():
    configmap = yaml.safe_load(registry_configmap(S))
    assert configmap["apiVersion"] == "v1" and configmap["kind"] == "ConfigMap"
    assert configmap["metadata"] == {"name": "local-registry-hosting", "namespace": "kube-public"}
    assert yaml.safe_load(configmap["data"]["localRegistryHosting.v1"]) == {
        "host": "localhost:5001",
        "hostFromContainerRuntime": "shopbox-registry:5000",
        "hostFromClusterNetwork": "shopbox-registry:5000",
        "help": "https://kind.sigs.k8s.io/docs/user/local-registry/",
    }


# --- the dry-run plan --------------------------------------------------------------------------------------


def test_a_dry_run_prints_each_change_and_its_stdin(capsys):
    runner = Commands(dry_run=True)
    runner.run(["docker", "exec", "-i", "n", "cp", "/dev/stdin", "/x y"], stdin="a\nb\n")
    runner.run(["docker", "network", "rm", "kind"])
    runner.emit(["kind", "get", "kubeconfig"])
    assert capsys.readouterr().out == ("+ docker exec -i n cp /dev/stdin '/x y' <<EOF\na\nb\nEOF\n"
                                       "+ docker network rm kind\n+ kind get kubeconfig\n")


# --- the bundle --------------------------------------------------------------------------------------------


def test_tag_of_strips_the_digest():
    assert tag_of("kindest/node:v1.36.1@sha256:abc") == "kindest/node:v1.36.1"
    assert tag_of("localhost:5001/qotm@sha256:abc") == "localhost:5001/qotm:pinned"
    assert tag_of("envoyproxy/envoy:v1.40.0") == "envoyproxy/envoy:v1.40.0"


def test_prefetch_saves_every_pinned_image_with_its_tag(capsys):
    engine = FakeEngine()
    images = bundle.prefetch(engine, S, "shopbox:abc")
    pinned = list(dict.fromkeys(v for k, v in PINS.items() if k.endswith("_IMAGE")))
    assert PINS["KIND_NODE_IMAGE"] in pinned and PINS["REGISTRY_IMAGE"] in pinned
    assert [c.split()[-1] for c in engine.commands if c.startswith("docker pull ")] == pinned
    tags = list(dict.fromkeys(tag_of(ref) for ref in pinned))
    assert f"docker tag {PINS['KIND_NODE_IMAGE']} {tag_of(PINS['KIND_NODE_IMAGE'])}" in engine.commands
    assert images == [*tags, "shopbox:abc"] and not engine.emitted


def test_load_puts_the_workshop_images_into_the_node_and_the_registry():
    engine = FakeEngine(containers={"shopbox-registry": "running"}, networks={"kind": ["shopbox-registry"]})
    engine.node("shopbox", "shopbox-control-plane")
    bundle.load(engine, S)
    assert engine.emitted == ["kind get kubeconfig --internal --name shopbox"]
    envoy = tag_of(PINS["ENVOY_IMAGE"])
    i = engine.commands.index(f"kind load docker-image --name shopbox {envoy}")
    assert engine.commands[i + 1:i + 3] == [f"docker tag {envoy} localhost:5001/{envoy}",
                                            f"docker push localhost:5001/{envoy}"]
    assert not [c for c in engine.commands if re.search(r"kind load docker-image .*(kindest/node|registry)", c)]
