"""Rendering: template context, includes, filters, labels, multi-doc, and errors naming file:line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from forge.errors import ForgeError
from forge.manifests.render import render
from forge.model import LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_NAME, LABEL_PROFILE, LABEL_VERSION, Manifest
from forge.plan import plan
from tests.forge.conftest import write_tree

pytestmark = pytest.mark.unit


def by_ident(manifests: list[Manifest]) -> dict[str, Manifest]:
    return {m.ident(): m for m in manifests}


def render_only(root: Path, service: str, template: str, **kwargs: object) -> list[Manifest]:
    """Render one service with k8s/ replaced by a single template."""
    for old in (root / service / "k8s").glob("*"):
        old.unlink()
    write_tree(root / service, {"k8s/t.yaml": template})
    return render(plan(root / service, **kwargs), env=kwargs.get("env") or {})  # type: ignore[arg-type]


CONTEXT_DUMP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: ctx
data:
  build: {{ build | to_json | to_json }}
  service: {{ service | to_json | to_json }}
  home: {{ env.HOME_DIR | to_json }}
"""


def test_template_context(sample_workspace: Path) -> None:
    db, manifest = render_only(sample_workspace, "api", CONTEXT_DUMP, env={"HOME_DIR": "/home/alice"})
    assert db.build.service.name == "db"  # required by api: pulled in and rendered first
    build = json.loads(manifest.doc["data"]["build"])
    version = manifest.build.version
    api, worker = manifest.build.images["api"], manifest.build.images["api-worker"]
    assert build == {
        "name": "api",
        "version": version,
        "profile": {"name": "default"},
        "canary": False,
        "images": {
            "Dockerfile": f"localhost:5001/api:{api.version}",
            "api": f"localhost:5001/api:{api.version}",
            "worker/Dockerfile": f"localhost:5001/api-worker:{worker.version}",
            "api-worker": f"localhost:5001/api-worker:{worker.version}",
        },
        "namespace": "shop",
        "branch": None,  # the sample workspace is not in git
    }
    service = json.loads(manifest.doc["data"]["service"])
    assert service["name"] == "api" and service["replicas"] == 1 and service["requires"] == ["db"]
    assert manifest.doc["data"]["home"] == "/home/alice"


def test_canary_context_and_names(sample_workspace: Path) -> None:
    manifests = by_ident(render(plan(sample_workspace / "web", canary=True, namespace="team"), env={}))
    assert set(manifests) == {"Deployment/web-canary", "Service/web-canary", "ConfigMap/web-canary-conf"}
    deployment = manifests["Deployment/web-canary"]
    assert deployment.build.canary is True and deployment.namespace == "team"
    assert yaml.safe_load(manifests["ConfigMap/web-canary-conf"].doc["data"]["conf.yaml"]) == {
        "weight": 10, "profile": "canary"
    }


def test_env_canary_selects_the_canary_build(sample_workspace: Path) -> None:
    (build,) = plan(sample_workspace / "web", env={"CANARY": "yes"})
    assert (build.name, build.profile, build.canary) == ("web-canary", "canary", True)


def test_include_from_the_service_directory(sample_workspace: Path) -> None:
    conf = by_ident(render(plan(sample_workspace / "web"), env={}))["ConfigMap/web-conf"]
    assert conf.doc["data"]["conf.yaml"] == "weight: 100\nprofile: default\n"


def test_labels_on_objects_and_pod_templates_but_not_selectors(sample_workspace: Path) -> None:
    manifests = by_ident(render(plan(sample_workspace / "web"), env={}))
    deployment = manifests["Deployment/web"]
    expected = {
        LABEL_MANAGED_BY: "forge",
        LABEL_NAME: "web",
        LABEL_INSTANCE: "web",
        LABEL_VERSION: deployment.build.version,
        LABEL_PROFILE: "default",
    }
    for manifest in manifests.values():
        assert manifest.doc["metadata"]["labels"].items() >= expected.items()
    assert deployment.doc["spec"]["template"]["metadata"]["labels"] == {"app": "web", **expected}
    assert deployment.doc["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert manifests["Service/web"].doc["spec"]["selector"] == {"app": "web"}


def test_cronjob_and_job_pod_templates_are_labelled(sample_workspace: Path) -> None:
    template = """\
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick, labels: {team: a}}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec: {restartPolicy: Never, containers: [{name: t, image: busybox}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    metadata: {labels: {job: once}}
    spec: {restartPolicy: Never, containers: [{name: t, image: busybox}]}
"""
    cron, job = render_only(sample_workspace, "db", template)
    assert cron.doc["metadata"]["labels"]["team"] == "a"
    assert cron.doc["spec"]["jobTemplate"]["metadata"]["labels"][LABEL_INSTANCE] == "db"
    assert cron.doc["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"][LABEL_PROFILE] == "default"
    assert job.doc["spec"]["template"]["metadata"]["labels"]["job"] == "once"
    assert job.doc["spec"]["template"]["metadata"]["labels"][LABEL_NAME] == "db"


SERVICE_AND_WORKLOADS = """\
apiVersion: v1
kind: Service
metadata: {name: edge}
spec:
  type: NodePort
  selector: {app: edge}
  ports: [{name: http, port: 8080, nodePort: 30080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: edge}
spec:
  selector: {matchLabels: {app: edge}}
  template:
    metadata: {labels: {app: edge}}
    spec:
      serviceAccountName: edge
      imagePullSecrets: [{name: mine}, {name: registry-pull}]
      containers: [{name: e, image: envoy}]
---
apiVersion: v1
kind: Pod
metadata: {name: once}
spec: {containers: [{name: t, image: busybox}]}
"""


def test_a_namespace_without_node_ports_gets_cluster_ip_services_and_pods_the_pull_secrets(
        sample_workspace: Path) -> None:
    """forge.yaml's node_ports: false and image_pull_secrets (forge setup writes them in a classroom seat)."""
    untouched = {m.kind: m.doc for m in render_only(sample_workspace, "db", SERVICE_AND_WORKLOADS)}
    assert untouched["Service"]["spec"]["type"] == "NodePort" and "imagePullSecrets" not in untouched["Pod"]["spec"]
    config = sample_workspace / "forge.yaml"
    config.write_text(config.read_text() + "node_ports: false\nimage_pull_secrets: [registry-pull]\n")
    found = {m.kind: m.doc for m in render_only(sample_workspace, "db", SERVICE_AND_WORKLOADS)}
    assert found["Service"]["spec"]["type"] == "ClusterIP"
    assert found["Service"]["spec"]["ports"] == [{"name": "http", "port": 8080}]
    assert found["Deployment"]["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "mine"},
                                                                                  {"name": "registry-pull"}]
    assert found["Pod"]["spec"]["imagePullSecrets"] == [{"name": "registry-pull"}]


def test_filters(sample_workspace: Path) -> None:
    template = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: f}
data:
  yaml: |
    {{ service.nested | to_yaml | indent(4) }}
  json: {{ service.nested | to_json | to_json }}
  hash: {{ "abc" | sha256 }}
"""
    write_tree(sample_workspace / "db", {"service.yaml": "nested: {b: [1, 2], a: x}\n"})
    (manifest,) = render_only(sample_workspace, "db", template)
    assert yaml.safe_load(manifest.doc["data"]["yaml"]) == {"b": [1, 2], "a": "x"}
    assert json.loads(manifest.doc["data"]["json"]) == {"a": "x", "b": [1, 2]}
    assert manifest.doc["data"]["hash"] == hashlib.sha256(b"abc").hexdigest()


def test_multi_document_templates_skip_empty_documents(sample_workspace: Path) -> None:
    template = "---\n{% for i in range(3) %}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c{{ i }}}\n" \
               "{% endfor %}\n---\n# only a comment\n"
    manifests = render_only(sample_workspace, "db", template)
    assert [m.name for m in manifests] == ["c0", "c1", "c2"]
    assert all(m.source == sample_workspace / "db" / "k8s" / "t.yaml" for m in manifests)


def test_set_overrides_reach_templates(sample_workspace: Path) -> None:
    manifests = by_ident(render(plan(sample_workspace / "web", overrides={"replicas": 7}), env={}))
    assert manifests["Deployment/web"].doc["spec"]["replicas"] == 7


def test_only_yaml_files_under_k8s_are_rendered(sample_workspace: Path) -> None:
    write_tree(sample_workspace / "db", {"k8s/README.md": "{{ nope }}", "k8s/sub/more.yml":
                                         "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: more}\n"})
    assert sorted(m.name for m in render(plan(sample_workspace / "db"), env={})) == ["db", "more"]


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("a: 1\nb: {{ service.nope }}\n", "db/k8s/t.yaml:2: 'dict object' has no attribute 'nope'"),
        ("a: 1\n\nb: {{ foo }}\n", "db/k8s/t.yaml:3: 'foo' is undefined"),
        ("a: 1\n{% if %}\n", "db/k8s/t.yaml:2: Expected an expression, got 'end of statement block'"),
        ("{% for x in [1] %}\n", "db/k8s/t.yaml:1: Unexpected end of template. Jinja was looking for the following "
         "tags: 'endfor' or 'else'. The innermost block that needs to be closed is 'for'."),
        ('a: 1\n{% include "missing.j2" %}\n', "db/k8s/t.yaml:2: template 'missing.j2' not found "
         "(include paths start at the service dir)"),
        ('a: {% include "part.j2" %}\n', "db/part.j2:2: 'undefined_in_include' is undefined"),
        ("a: {{ 1 // 0 }}\n", "db/k8s/t.yaml:1: integer division or modulo by zero"),
        ("a: b: c\n", "db/k8s/t.yaml:1: rendered to invalid YAML: mapping values are not allowed here"),
        ("- 1\n- 2\n", "db/k8s/t.yaml: document 1: expected a mapping, got list"),
    ],
    ids=["undefined-attr", "undefined-var", "syntax", "unclosed", "include-missing", "include-error", "runtime",
         "yaml", "not-mapping"],
)
def test_template_errors_name_file_and_line(sample_workspace: Path, template: str, message: str) -> None:
    write_tree(sample_workspace / "db", {"part.j2": "ok\n{{ undefined_in_include }}\n"})
    with pytest.raises(ForgeError) as caught:
        render_only(sample_workspace, "db", template)
    assert str(caught.value) == message


def test_selector_finds_exactly_one_builds_objects(sample_workspace: Path) -> None:
    """What prune/delete select on: every object of a build carries its selector; other profiles' do not match."""
    stable = render(plan(sample_workspace / "web"), env={})
    canary = render(plan(sample_workspace / "web", canary=True), env={})
    selector = stable[0].build.selector()
    assert LABEL_VERSION not in selector  # objects of older versions are still found (and pruned)
    for manifest in stable:
        assert manifest.doc["metadata"]["labels"].items() >= selector.items()
    for manifest in canary:
        assert not manifest.doc["metadata"]["labels"].items() >= selector.items()
        assert manifest.doc["metadata"]["labels"].items() >= manifest.build.selector().items()
