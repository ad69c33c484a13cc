"""`forge setup` against the real engine and a real registry: writes forge.yaml only when every check passed."""

from __future__ import annotations

import pytest
import yaml

from forge.commands import setup as setup_cmd
from forge.verbs import setup as setup_verb
from tests.forge.cli import forge
from tests.platform.procs import free_port

pytestmark = pytest.mark.docker


@pytest.fixture
def no_cluster(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))


def test_setup_pushes_a_local_image_and_writes_forge_yaml(tmp_path, docker_client, registry, no_cluster):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    result = forge("setup", str(workspace), "--registry", registry.host, "-n", "workshop", "--concurrency", "3",
                   "--yes")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((workspace / "forge.yaml").read_text()) == {
        "registry": registry.host, "concurrency": 3, "namespace": "workshop"}
    assert registry.tags(setup_verb.CHECK_IMAGE) == [setup_verb.CHECK_TAG]
    assert not docker_client.images.list(name=f"{registry.host}/{setup_verb.CHECK_IMAGE}")  # local tag dropped
    assert "docker: engine " in result.output
    assert "cluster: no kubeconfig at " in result.output
    assert f"registry: {registry.host} accepted a push of forge-setup-check:1" in result.output
    assert list(workspace.iterdir()) == [workspace / "forge.yaml"]  # no temporary file left behind


@pytest.mark.parametrize(("builder", "said"), [
    ("buildkit", "images with BuildKit ("),
    ("classic", "images with the classic builder (FORGE_BUILDER=classic)"),
])
def test_setup_says_which_builder_and_pushes_through_it(tmp_path, monkeypatch, docker_client, registry, no_cluster,
                                                        builder, said):
    monkeypatch.setenv("FORGE_BUILDER", builder)
    result = forge("setup", str(tmp_path), "--registry", registry.host, "--yes")
    assert result.exit_code == 0, result.output
    assert said in result.output.splitlines()[0]
    assert f"builds linux/{docker_client.version()['Arch']} images" in result.output.splitlines()[0]
    assert registry.tags(setup_verb.CHECK_IMAGE) == [setup_verb.CHECK_TAG]


def test_bad_forge_builder_is_a_usage_error_before_anything(tmp_path, monkeypatch, no_cluster):
    monkeypatch.setenv("FORGE_BUILDER", "kaniko")
    result = forge("setup", str(tmp_path), "--registry", "localhost:5001", "--yes")
    assert result.exit_code == 2
    assert result.output == "error: FORGE_BUILDER=kaniko: expected auto, buildkit or classic\n"
    assert list(tmp_path.iterdir()) == []


def test_setup_keeps_other_settings_and_can_run_again(tmp_path, docker_client, registry, no_cluster):
    (tmp_path / "forge.yaml").write_text("registry: old.example:5000\nbuild_args: {BASE_IMAGE: base:1}\n")
    result = forge("setup", str(tmp_path), "--registry", registry.host, "--yes")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((tmp_path / "forge.yaml").read_text()) == {
        "registry": registry.host, "build_args": {"BASE_IMAGE": "base:1"}, "concurrency": 4}
    again = forge("setup", str(tmp_path), "--yes")  # takes the registry from forge.yaml, pushes again
    assert again.exit_code == 0, again.output
    assert f"registry: {registry.host} accepted a push" in again.output


def test_unreachable_registry_writes_nothing(tmp_path, docker_client, no_cluster):
    host = f"127.0.0.1:{free_port()}"
    result = forge("setup", str(tmp_path), "--registry", host, "--yes")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == f"error: registry {host} is unreachable: Connection refused"
    assert list(tmp_path.iterdir()) == []


def test_unreachable_registry_leaves_existing_forge_yaml_alone(tmp_path, docker_client, no_cluster):
    original = "# mine\nregistry: localhost:5001\n"
    (tmp_path / "forge.yaml").write_text(original)
    result = forge("setup", str(tmp_path), "--registry", f"127.0.0.1:{free_port()}", "--yes")
    assert result.exit_code == 1
    assert (tmp_path / "forge.yaml").read_text() == original


@pytest.mark.parametrize(("args", "message"), [
    (["--registry", "http://localhost:5001"],
     "error: --registry: 'http://localhost:5001' is not a registry like localhost:5001"),
    (["--registry", "localhost:5001", "-n", "Work_Shop"], "error: --namespace: 'Work_Shop' is not a DNS label"),
    ([], "error: no registry (pass --registry HOST[:PORT][/PATH], e.g. --registry localhost:5001)"),
])
def test_bad_values_are_usage_errors(tmp_path, docker_client, no_cluster, args, message):
    result = forge("setup", str(tmp_path), *args, "--yes")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == message
    assert not (tmp_path / "forge.yaml").exists()


def test_unreachable_cluster_writes_nothing(tmp_path, monkeypatch, docker_client, registry):
    port = free_port()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
        "users": [{"name": "gone", "user": {"token": "x"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "gone"}}],
    }))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    workspace = tmp_path / "ws"
    workspace.mkdir()
    result = forge("setup", str(workspace), "--registry", registry.host, "--yes")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1].startswith("error: cluster unreachable: context gone at https://127.0.0.1:")
    assert not (workspace / "forge.yaml").exists()
    skipped = forge("setup", str(workspace), "--registry", registry.host, "--skip-cluster", "--yes")
    assert skipped.exit_code == 0, skipped.output
    assert (workspace / "forge.yaml").exists()


def test_interactive_prompts_fill_missing_values(tmp_path, monkeypatch, docker_client, registry, no_cluster):
    monkeypatch.setattr(setup_cmd, "can_prompt", lambda: True)
    result = forge("setup", str(tmp_path), input=f"{registry.host}\nworkshop\n2\n")
    assert result.exit_code == 0, result.output
    assert "Registry (host[:port][/path]):" in result.output
    assert yaml.safe_load((tmp_path / "forge.yaml").read_text()) == {
        "registry": registry.host, "concurrency": 2, "namespace": "workshop"}


def test_docker_not_answering_writes_nothing(tmp_path, monkeypatch, no_cluster):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    result = forge("setup", str(tmp_path), "--registry", "localhost:5001", "--yes")
    assert result.exit_code == 1
    assert result.output == f"error: Docker engine at unix://{tmp_path}/no-docker.sock does not answer: " \
                            "No such file or directory\n"
    assert not (tmp_path / "forge.yaml").exists()
