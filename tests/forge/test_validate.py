"""Validation of rendered manifests: required fields, the Kubernetes schema (offline), duplicate objects."""

from __future__ import annotations

from pathlib import Path

import pytest

from forge.errors import ForgeError
from forge.manifests.render import render
from forge.manifests.validate import pinned_kubernetes_version, schema_version, validate
from forge.model import Manifest
from forge.plan import plan
from tests.forge.conftest import write_tree

pytestmark = pytest.mark.unit

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  replicas: %s
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec: {containers: [{name: c, image: "x:1"}]}
"""


def manifests_of(root: Path, template: str) -> list[Manifest]:
    write_tree(root / "svc", {"service.yaml": "{}\n", "k8s/t.yaml": template})
    return render(plan(root / "svc"), env={})


def problem(root: Path, template: str, kube_version: str | None = "1.36") -> str:
    with pytest.raises(ForgeError) as caught:
        validate(manifests_of(root, template), kube_version)
    return str(caught.value)


def test_valid_manifests_pass(sample_workspace: Path) -> None:
    assert validate(render(plan(sample_workspace), env={}), "1.36") == []


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("kind: ConfigMap\nmetadata: {name: a}\n", "svc/k8s/t.yaml: ConfigMap/a: missing apiVersion"),
        ("apiVersion: v1\nmetadata: {name: a}\n", "svc/k8s/t.yaml: document 1: missing kind"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n",
         "svc/k8s/t.yaml: document 1: missing metadata.name"),
        ("apiVersion: v1\nkind: ConfigMap\ndata: {}\n", "svc/k8s/t.yaml: document 1: missing metadata.name"),
        (DEPLOYMENT % '"three"',
         "svc/k8s/t.yaml: Deployment/d: spec.replicas: 'three' is not of type 'integer', 'null' (Kubernetes 1.36)"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: 1}\n",
         "svc/k8s/t.yaml: ConfigMap/a: data.k: 1 is not of type 'string', 'null' (Kubernetes 1.36)"),
        (DEPLOYMENT.replace("replicas: %s", "replica: 3"),
         "svc/k8s/t.yaml: Deployment/d: spec.replica: unknown field (Kubernetes 1.36)"),
        (DEPLOYMENT.replace("  selector: {matchLabels: {app: d}}\n", "") % 1,
         "svc/k8s/t.yaml: Deployment/d: spec: 'selector' is a required property (Kubernetes 1.36)"),
    ],
    ids=["no-apiversion", "no-kind", "no-name", "no-metadata", "replicas-type", "data-type", "unknown-field",
         "required"],
)
def test_invalid_manifests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None, template: str,
                           message: str) -> None:
    monkeypatch.chdir(tmp_path)
    assert problem(tmp_path, template) == message


def test_all_problems_in_detail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    monkeypatch.chdir(tmp_path)
    template = "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n---\n" + DEPLOYMENT % '"three"'
    with pytest.raises(ForgeError) as caught:
        validate(manifests_of(tmp_path, template), "1.36")
    assert str(caught.value) == "svc/k8s/t.yaml: document 1: missing metadata.name (and 1 more problems; -v lists them)"
    assert caught.value.detail is not None and "spec.replicas" in caught.value.detail


def test_unknown_kinds_warn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    monkeypatch.chdir(tmp_path)
    warnings = validate(manifests_of(tmp_path, "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"),
                        "1.36")
    assert warnings == ["svc/k8s/t.yaml: Widget/w: no schema for example.com/v1 Widget in Kubernetes 1.36; skipped"]


def test_duplicate_objects_across_services(sample_workspace: Path) -> None:
    write_tree(sample_workspace, {"other/service.yaml": "{}\n", "other/k8s/dup.yaml":
                                  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-conf}\n"})
    with pytest.raises(ForgeError) as caught:
        validate(render(plan(sample_workspace), env={}), "1.36")
    assert str(caught.value) == (
        "duplicate object ConfigMap/web-conf in namespace shop: rendered by other/k8s/dup.yaml (service other) "
        "and web/k8s/configmap.yaml (service web)"
    )


def test_same_name_in_other_kind_is_no_duplicate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 clean_env: None) -> None:
    monkeypatch.chdir(tmp_path)
    template = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
                "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\n")
    assert validate(manifests_of(tmp_path, template), "1.36") == []


@pytest.mark.parametrize(
    ("requested", "used"),
    [("1.33", "1.33"), ("v1.36.1", "1.36"), ("1.99", "1.37"), (None, "1.37"), ("1.25.3", "1.25")],
)
def test_schema_version(requested: str | None, used: str) -> None:
    assert schema_version(requested) == used


@pytest.mark.parametrize(
    ("requested", "message"),
    [("1.20", "Kubernetes 1.20 is older than the oldest schema available (1.25)"),
     ("latest", "Kubernetes version 'latest' is not a version like 1.33")],
)
def test_bad_schema_versions(requested: str, message: str) -> None:
    with pytest.raises(ForgeError) as caught:
        schema_version(requested)
    assert str(caught.value) == message


def test_pinned_version_from_versions_env(tmp_path: Path) -> None:
    write_tree(tmp_path, {"versions.env": "# pins\nOTHER=1\nKUBERNETES_VERSION=1.31.4\n", "a/b/.keep": ""})
    assert pinned_kubernetes_version(tmp_path / "a" / "b") == "1.31.4"


def test_repository_pins_a_version_that_has_schemas() -> None:
    pinned = pinned_kubernetes_version(None)
    assert pinned is not None
    assert schema_version(pinned) == ".".join(pinned.split(".")[:2])


def test_a_custom_resource_that_looks_like_a_built_in_kind_is_not_checked_against_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    """apps.example.com/v1 Deployment is someone's CRD: its fields are not apps/v1's (the server checks them)."""
    monkeypatch.chdir(tmp_path)
    template = "apiVersion: apps.example.com/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {flavour: mint}\n"
    assert validate(manifests_of(tmp_path, template), "1.36") == [
        "svc/k8s/t.yaml: Deployment/d: no schema for apps.example.com/v1 Deployment in Kubernetes 1.36; skipped"
    ]


@pytest.mark.parametrize(
    ("api_version", "kind", "message"),
    [
        ("networking.k8s.io/v1", "Ingres", "kind Ingres does not exist in networking.k8s.io/v1 (Kubernetes 1.36; "
         "did you mean Ingress?)"),
        ("extensions/v1beta1", "Ingress", "apiVersion extensions/v1beta1 is not served by Kubernetes 1.36 (Ingress "
         "is networking.k8s.io/v1)"),
        ("rbac.authorization.k8s.io/v1beta1", "Role", "apiVersion rbac.authorization.k8s.io/v1beta1 is not served by "
         "Kubernetes 1.36 (Role is rbac.authorization.k8s.io/v1)"),
        ("v1", "ConfigMapList", "kind ConfigMapList is not supported: write each object as its own YAML document "
         "(separated by ---)"),
        ("v2", "Widget", "apiVersion v2 is not served by Kubernetes 1.36"),
    ],
    ids=["typo", "removed", "removed-version", "typed-list", "no-group"],
)
def test_built_in_groups_must_serve_the_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None,
                                             api_version: str, kind: str, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    template = f"apiVersion: {api_version}\nkind: {kind}\nmetadata: {{name: x}}\n"
    assert problem(tmp_path, template) == f"svc/k8s/t.yaml: {kind}/x: {message}"
