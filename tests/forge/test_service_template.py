"""service.yaml is a Jinja template of `env` and `branch`, rendered before it is parsed and schema-checked (as the
2017 Forge did); `requires` may be one name; K8S_NAMESPACE sits between -n and forge.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from forge.config.descriptor import load_service
from forge.config.workspace import load_workspace
from forge.errors import ForgeError
from forge.manifests.render import render
from forge.plan import plan
from tests.forge.cli import forge
from tests.forge.conftest import write_tree

pytestmark = pytest.mark.unit


def loaded(tmp_path: Path, descriptor: str, env: dict[str, str] | None = None, branch: str | None = None) -> dict:
    write_tree(tmp_path / "svc", {"service.yaml": descriptor})
    return load_service(tmp_path / "svc" / "service.yaml", env=env or {}, branch=branch).data


@pytest.mark.parametrize(
    ("descriptor", "env", "field", "value"),
    [
        ("port: {{ env.PORT or 8080 }}\n", {}, "port", 8080),  # the 2017 example: "unhashable key" before
        ("port: {{ env.PORT or 8080 }}\n", {"PORT": "9090"}, "port", 9090),
        ("replicas: {{ env.REPLICAS | default(2) }}\n", {}, "replicas", 2),
        ("replicas: {{ env['REPLICAS'] | default(2) }}\n", {"REPLICAS": "5"}, "replicas", 5),
        ("mode: {% if env.CANARY %}slow{% else %}fast{% endif %}\n", {}, "mode", "fast"),
        ("mode: {{ 'debug' if env.DEBUG == '1' else 'quiet' }}\n", {}, "mode", "quiet"),
        ("home: {{ env.HOME }}\n", {"HOME": "/home/alice"}, "home", "/home/alice"),
        ("{# a comment #}\nnote: '{{ \"{{\" }} is how a brace pair is written'\n", {}, "note",
         "{{ is how a brace pair is written"),
    ],
)
def test_env_in_service_yaml(tmp_path: Path, descriptor: str, env: dict[str, str], field: str, value: object) -> None:
    assert loaded(tmp_path, descriptor, env)[field] == value


def test_branch_in_service_yaml(tmp_path: Path) -> None:
    descriptor = "tag: \"{{ (branch or 'detached') | replace('/', '-') }}\"\n"
    assert loaded(tmp_path, descriptor, branch="feature/login")["tag"] == "feature-login"
    assert loaded(tmp_path, descriptor, env={"FORGE_BRANCH": "main"})["tag"] == "main"
    assert loaded(tmp_path, descriptor)["tag"] == "detached"  # not in git


@pytest.mark.parametrize(
    ("descriptor", "message"),
    [
        ("name: svc\nport: {{ env.PORT }}\n", "svc/service.yaml:2: env.PORT is not set (for an optional variable "
         "write {{ env.PORT | default(...) }})"),
        ("port: {{ env.PORT + 1 }}\n", "svc/service.yaml:1: env.PORT is not set (for an optional variable write "
         "{{ env.PORT | default(...) }})"),
        ("a: 1\n\nport: {{ prot }}\n", "svc/service.yaml:3: 'prot' is undefined"),
        ("tag: {{ branch.upper() }}\n", "svc/service.yaml:1: 'None' has no attribute 'upper'"),
        ("port: {{ 8080 \n", "svc/service.yaml:1: unexpected end of template, expected 'end of print statement'."),
        ("port: {{ env.PORT | default('x: y') }}\n", "svc/service.yaml:1: invalid YAML: mapping values are not "
         "allowed here"),
        ("profiles:\n  canary: {weight: {{ env.W | default('ten') }}}\n",
         "svc/service.yaml: profiles.canary.weight: expected a number"),
    ],
)
def test_template_errors_name_file_line_and_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      descriptor: str, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ForgeError) as caught:
        loaded(tmp_path, descriptor)
    assert str(caught.value) == message


def test_plain_yaml_is_not_rendered(tmp_path: Path) -> None:
    """No Jinja marker: the file is YAML as before (a `{` in a flow mapping is not a template)."""
    assert loaded(tmp_path, "ports: {http: 8080}\nnote: '{not a template}'\n")["ports"] == {"http": 8080}


def test_render_sees_the_rendered_descriptor(sample_workspace: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(sample_workspace, {"web/service.yaml": "name: web\nreplicas: {{ env.WEB_REPLICAS | default(2) }}\n"
                                  "port: {{ env.WEB_PORT or 8080 }}\n"})
    monkeypatch.setenv("WEB_REPLICAS", "4")
    result = forge("render", "web")
    assert result.exit_code == 0, result.stderr
    docs = {d["kind"]: d for d in yaml.safe_load_all(result.stdout) if d}
    assert docs["Deployment"]["spec"]["replicas"] == 4
    assert docs["Service"]["spec"]["ports"] == [{"port": 8080}]


def test_the_2017_canary_idiom_works_in_templates(sample_workspace: Path) -> None:
    """`{% set suffix = '-canary' if env.CANARY %}`: an unset variable is false in the k8s templates too."""
    write_tree(sample_workspace, {"db/k8s/config.yaml": "{% set suffix = '-canary' if env.CANARY %}\n"
                                  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db{{ suffix }}\n"})
    (db,) = plan(sample_workspace / "db", env={})
    assert [m.name for m in render([db], env={})] == ["db"]
    assert [m.name for m in render([db], env={"CANARY": "yes"})] == ["db-canary"]


def test_requires_as_one_name(sample_workspace: Path) -> None:
    write_tree(sample_workspace, {"api/service.yaml": "replicas: 1\nrequires: db\n"})
    assert load_service(sample_workspace / "api" / "service.yaml").requires == ["db"]
    assert [b.name for b in plan(sample_workspace / "api")] == ["db", "api"]


@pytest.mark.parametrize(
    ("env", "flag", "expected"),
    [({}, None, "shop"), ({"K8S_NAMESPACE": "team"}, None, "team"), ({"K8S_NAMESPACE": "team"}, "mine", "mine"),
     ({"K8S_NAMESPACE": ""}, None, "shop")],
)
def test_k8s_namespace_between_flag_and_forge_yaml(sample_workspace: Path, env: dict[str, str], flag: str | None,
                                                   expected: str) -> None:
    (web,) = plan(sample_workspace / "web", namespace=flag, env=env)
    assert web.namespace == expected
    assert load_workspace(sample_workspace, env).namespace == (env.get("K8S_NAMESPACE") or "shop")


def test_k8s_namespace_without_forge_yaml(tmp_path: Path) -> None:
    assert load_workspace(tmp_path, {"K8S_NAMESPACE": "team"}).namespace == "team"


def test_metadata_is_what_templates_receive(sample_workspace: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """`forge render --metadata`: service and build per build, for each target (env left out: it may hold
    credentials); nothing is rendered, so a broken template does not hide them."""
    from forge.manifests.render import context

    monkeypatch.setenv("TOKEN", "s3cret")
    write_tree(sample_workspace, {"web/k8s/broken.yaml": "{{ nope }}\n"})
    result = forge("render", "web", "db", "--metadata", "--branch", "feature/x")
    assert result.exit_code == 0, result.stderr
    assert "s3cret" not in result.stdout
    assert result.stdout.startswith("---\n# web: what the templates of web/service.yaml receive (and env)\n")
    docs = list(yaml.safe_load_all(result.stdout))
    builds = plan([sample_workspace / "web", sample_workspace / "db"], branch="feature/x")
    assert docs == [{key: context(b, {})[key] for key in ("service", "build")} for b in builds]
    assert [d["build"]["name"] for d in docs] == ["web", "db"]
    assert docs[0]["build"]["branch"] == "feature/x"
    assert docs[0]["build"]["images"]["web"].startswith("localhost:5001/web:")
    as_json = forge("render", "web", "--metadata", "-o", "json")
    assert json.loads(as_json.stdout)[0]["build"]["name"] == "web"
