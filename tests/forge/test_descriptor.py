"""service.yaml: defaults, containers and image names, overrides, schema errors naming file and field path."""

from __future__ import annotations

from pathlib import Path

import pytest

from forge.config.descriptor import apply_overrides, image_name_for, load_service
from forge.config.workspace import load_workspace
from forge.errors import ForgeError
from tests.forge.conftest import write_tree

pytestmark = pytest.mark.unit


def test_defaults_name_from_directory_and_containers_found(sample_workspace: Path) -> None:
    api = load_service(sample_workspace / "api" / "service.yaml")
    assert api.name == "api"
    assert [(c.key, c.name) for c in api.containers] == [("Dockerfile", "api"), ("worker/Dockerfile", "api-worker")]
    assert api.containers[1].context == sample_workspace / "api" / "worker"
    assert api.requires == ["db"]
    assert api.profiles == {} and api.branches == {}


def test_extra_keys_and_filled_defaults_are_in_data(sample_workspace: Path) -> None:
    web = load_service(sample_workspace / "web" / "service.yaml")
    assert web.data["port"] == 8080 and web.data["replicas"] == 2
    assert web.data["name"] == "web" and web.data["requires"] == []
    assert web.data["containers"] == [{"dockerfile": "Dockerfile", "context": ".", "name": "web", "args": {}}]
    assert web.profiles == {"canary": {"weight": 10}}


def test_service_without_dockerfiles_has_no_containers(sample_workspace: Path) -> None:
    assert load_service(sample_workspace / "db" / "service.yaml").containers == []


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("Dockerfile", "svc"),
        ("web/Dockerfile", "svc-web"),
        ("Dockerfile.worker", "svc-worker"),
        ("worker.Dockerfile", "svc-worker"),
        ("tools/Dockerfile.Dev_Build", "svc-tools-dev-build"),
    ],
)
def test_image_names_from_dockerfile_paths(key: str, name: str) -> None:
    assert image_name_for("svc", key) == name


def test_two_dockerfiles_in_one_directory_get_distinct_names(tmp_path: Path, clean_env: None) -> None:
    write_tree(tmp_path / "svc", {"service.yaml": "{}\n", "Dockerfile": "FROM a\n", "Dockerfile.worker": "FROM b\n"})
    service = load_service(tmp_path / "svc" / "service.yaml")
    assert [c.name for c in service.containers] == ["svc", "svc-worker"]


def test_dockerfiles_of_nested_services_and_templates_are_not_taken(tmp_path: Path, clean_env: None) -> None:
    write_tree(
        tmp_path / "svc",
        {
            "service.yaml": "{}\n",
            "Dockerfile": "FROM a\n",
            "k8s/Dockerfile": "FROM template\n",
            "inner/service.yaml": "{}\n",
            "inner/Dockerfile": "FROM inner\n",
            ".venv/pyvenv.cfg": "",
            ".venv/lib/Dockerfile": "FROM venv\n",
        },
    )
    assert [c.key for c in load_service(tmp_path / "svc" / "service.yaml").containers] == ["Dockerfile"]


def test_explicit_containers_with_context_name_and_args(tmp_path: Path, clean_env: None) -> None:
    write_tree(
        tmp_path / "svc",
        {
            "service.yaml": (
                "containers:\n"
                "  - Dockerfile\n"
                "  - dockerfile: docker/Dockerfile.tools\n    context: .\n    name: toolbox\n"
                "    args: {DEBUG: true, LEVEL: 3}\n"
            ),
            "Dockerfile": "FROM a\n",
            "docker/Dockerfile.tools": "FROM b\n",
        },
    )
    main, tools = load_service(tmp_path / "svc" / "service.yaml").containers
    assert (main.key, main.name, main.args) == ("Dockerfile", "svc", {})
    assert (tools.key, tools.name, tools.context) == ("docker/Dockerfile.tools", "toolbox", tmp_path / "svc")
    assert tools.args == {"DEBUG": "true", "LEVEL": "3"}


def test_explicit_empty_containers_means_none(tmp_path: Path, clean_env: None) -> None:
    write_tree(tmp_path / "svc", {"service.yaml": "containers: []\n", "Dockerfile": "FROM a\n"})
    assert load_service(tmp_path / "svc" / "service.yaml").containers == []


@pytest.mark.parametrize(
    ("descriptor", "message"),
    [
        ("profiles:\n  canary:\n    weight: heavy\n", "svc/service.yaml: profiles.canary.weight: expected a number"),
        ("profiles:\n  canary:\n    replicas: 1.5\n",
         "svc/service.yaml: profiles.canary.replicas: expected an integer"),
        ("profiles:\n  canary: [1]\n", "svc/service.yaml: profiles.canary: expected a mapping or nothing"),
        ("containers:\n  - context: .\n", "svc/service.yaml: containers[0]: missing required field 'dockerfile'"),
        ("containers:\n  - dockerfile: Dockerfile\n    contxt: .\n",
         "svc/service.yaml: containers[0].contxt: unknown field (known fields: args, context, dockerfile, name, "
         "secrets)"),
        ("containers: Dockerfile\n", "svc/service.yaml: containers: expected a list"),
        ("containers:\n  - 3\n", "svc/service.yaml: containers[0]: expected a string or a mapping"),
        ("containers:\n  - dockerfile: Dockerfile\n    name: Web_UI\n",
         "svc/service.yaml: containers[0].name: 'Web_UI' is not a valid image name "
         "(lowercase letters, digits, '.', '_', '-', '/')"),
        ("name: My_Service\n", "svc/service.yaml: name: 'My_Service' is not a valid service name "
         "(lowercase letters, digits and '-', at most 56 characters)"),
        ("requires: 3\n", "svc/service.yaml: requires: expected a string or a list"),
        ("requires: ''\n", "svc/service.yaml: requires: must not be empty"),
        ("requires: [db, db]\n", "svc/service.yaml: requires: has duplicate entries"),
        ("branches:\n  main: Production\n", "svc/service.yaml: branches.main: 'Production' is not a valid profile "
         "name (a DNS label: lowercase letters, digits and '-', at most 63 characters)"),
        ("branches:\n  'main/': production\n", "svc/service.yaml: branches.main/: the glob matches no branch: git "
         "branch names cannot have '/', '.' or '.lock' at the end"),
        ("- just\n- a list\n", "svc/service.yaml: expected a mapping at the top level, got list"),
        ("name: [unclosed\n", "svc/service.yaml:2: invalid YAML: expected ',' or ']', but got '<stream end>'"),
    ],
)
def test_schema_errors_name_file_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, descriptor: str, message: str
) -> None:
    write_tree(tmp_path / "svc", {"service.yaml": descriptor, "Dockerfile": "FROM a\n"})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FORGE_BRANCH", "main")  # branches: the profile of the glob main matches is checked
    with pytest.raises(ForgeError) as caught:
        load_service(tmp_path / "svc" / "service.yaml")
    assert str(caught.value) == message


def test_invalid_directory_name_as_default_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path / "My_Svc", {"service.yaml": "{}\n"})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ForgeError, match=r"^My_Svc/service.yaml: name: 'My_Svc' is not a valid service name"):
        load_service(tmp_path / "My_Svc" / "service.yaml")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"service.yaml": "containers: [Dockerfil]\n"},
         "svc/service.yaml: containers[0]: Dockerfile 'Dockerfil' not found"),
        ({"service.yaml": "containers:\n  - dockerfile: Dockerfile\n    context: src\n"},
         "svc/service.yaml: containers[0].context: directory 'src' not found"),
        ({"service.yaml": "containers: [Dockerfile, {dockerfile: Dockerfile.x, name: svc}]\n",
          "Dockerfile.x": "FROM b"},
         "svc/service.yaml: containers[1]: image name 'svc' is already used by containers[0]"),
        ({"service.yaml": "{}\n", "Dockerfile.web": "FROM b\n", "web/Dockerfile": "FROM c\n"},
         "svc/service.yaml: containers (found web/Dockerfile): image name 'svc-web' is already used by "
         "containers (found Dockerfile.web)"),
    ],
)
def test_container_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], message: str) -> None:
    write_tree(tmp_path / "svc", {"Dockerfile": "FROM a\n", **files})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ForgeError) as caught:
        load_service(tmp_path / "svc" / "service.yaml")
    assert str(caught.value) == message


def test_overrides_merge_dotted_keys_and_are_rechecked(sample_workspace: Path) -> None:
    web = load_service(sample_workspace / "web" / "service.yaml", {"replicas": 5, "profiles.canary.weight": 25,
                                                                    "extra.deep.key": "x"})
    assert web.data["replicas"] == 5
    assert web.profiles["canary"] == {"weight": 25}
    assert "extra" not in web.data  # no place for it in web/service.yaml: plan reports it unless another has one
    assert web.overridden == ("replicas", "profiles.canary.weight")
    with pytest.raises(ForgeError) as caught:
        load_service(sample_workspace / "web" / "service.yaml", {"profiles.canary.weight": "heavy"})
    assert str(caught.value) == "web/service.yaml (with --set): profiles.canary.weight: expected a number"


def test_apply_overrides_does_not_change_its_input() -> None:
    data = {"a": {"b": 1}}
    assert apply_overrides(data, {"a.c": 2}) == {"a": {"b": 1, "c": 2}}
    assert data == {"a": {"b": 1}}
    with pytest.raises(ForgeError, match=r"^--set a\.b\.c: a\.b is not a mapping$"):
        apply_overrides(data, {"a.b.c": 3})
    with pytest.raises(ForgeError, match=r"^--set a\.\.b: empty field name$"):
        apply_overrides(data, {"a..b": 3})


def test_workspace_settings(sample_workspace: Path) -> None:
    workspace = load_workspace(sample_workspace / "web" / "k8s")
    assert workspace.root == sample_workspace
    assert (workspace.registry, workspace.namespace, workspace.concurrency) == ("localhost:5001", "shop", 4)
    assert workspace.build_args == {"BASE_IMAGE": "base:1"}


def test_workspace_without_forge_yaml(tmp_path: Path) -> None:
    write_tree(tmp_path, {"repo/.git/HEAD": "ref: refs/heads/main\n", "repo/svc/service.yaml": "{}\n"})
    workspace = load_workspace(tmp_path / "repo" / "svc")
    assert workspace.root == tmp_path / "repo" and workspace.registry is None and workspace.config_path is None


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("registy: localhost:5001\n",
         "forge.yaml: registy: unknown field (known fields: build_args, concurrency, image_pull_secrets, namespace, "
         "node_ports, registry)"),
        ("concurrency: 0\n", "forge.yaml: concurrency: at least 1 expected, got 0"),
        ("concurrency: many\n", "forge.yaml: concurrency: expected an integer"),
        ("namespace: Shop\n", "forge.yaml: namespace: 'Shop' is not a DNS label"),
        ("registry: http://x\n", "forge.yaml: registry: 'http://x' is not a registry like localhost:5001"),
        ("build_args:\n  A: [1]\n", "forge.yaml: build_args.A: expected a string, a number or true or false"),
    ],
)
def test_forge_yaml_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str, message: str) -> None:
    write_tree(tmp_path, {"forge.yaml": config})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ForgeError) as caught:
        load_workspace(tmp_path)
    assert str(caught.value) == message


def test_several_schema_errors_first_one_in_document_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path / "svc", {"service.yaml": "requires: 3\nprofiles:\n  canary: {weight: x}\n"})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ForgeError) as caught:
        load_service(tmp_path / "svc" / "service.yaml")
    assert str(caught.value) == ("svc/service.yaml: profiles.canary.weight: expected a number "
                                 "(and 1 more problems; -v lists them)")
    assert caught.value.detail == ("svc/service.yaml: profiles.canary.weight: expected a number\n"
                                   "svc/service.yaml: requires: expected a string or a list")


OWN_SCHEMA = """\
type: object
properties:
  retries:
    type: object
    additionalProperties: false
    properties:
      num_retries: {type: integer, minimum: 0, maximum: 5}
      methods: {type: array, items: {enum: [GET, PUT]}}
"""


@pytest.mark.parametrize(
    ("descriptor", "message"),
    [
        ("retries: {num_retries: 9}\n", "svc/service.yaml: retries.num_retries: at most 5 expected, got 9"),
        ("retries: {methods: [GET, POST]}\n", "svc/service.yaml: retries.methods[1]: 'POST' is not one of GET, PUT"),
        ("retries: {num_retrys: 1}\n",
         "svc/service.yaml: retries.num_retrys: unknown field (known fields: methods, num_retries)"),
    ],
)
def test_a_service_schema_next_to_service_yaml_checks_its_own_fields(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, descriptor: str, message: str
) -> None:
    write_tree(tmp_path / "svc", {"service.yaml": descriptor, "service.schema.yaml": OWN_SCHEMA})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ForgeError) as caught:
        load_service(tmp_path / "svc" / "service.yaml")
    assert str(caught.value) == message
    assert load_service(tmp_path / "svc" / "service.yaml", {"retries": {"num_retries": 2}}).data["retries"] == {
        "num_retries": 2}  # --set values are checked against it too, and a good one passes
    with pytest.raises(ForgeError, match=r"^svc/service.yaml \(with --set\): retries.num_retries: at most 5"):
        load_service(tmp_path / "svc" / "service.yaml", {"retries": {"num_retries": 6}})


def test_a_broken_service_schema_is_refused_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path / "svc", {"service.yaml": "retries: 1\n",
                                  "service.schema.yaml": "properties:\n  retries: {type: integr}\n"})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ForgeError) as caught:
        load_service(tmp_path / "svc" / "service.yaml")
    assert str(caught.value).startswith("svc/service.schema.yaml: properties.retries.type: not a valid JSON Schema: ")


OLD_SUFFIX = " (forge/README.md, \"From the 2017 Forge\")"
SECRET = ("; forge reads registry credentials from `docker login`, never from forge.yaml: take the secret out of "
          "the file and out of git's history")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("docker-repo: registry.hub.docker.com/myorg\nuser: alice\npassword: aGk=\n",
         "forge.yaml: written for the 2017 Forge (docker-repo, user, password): write `registry: "
         "registry.hub.docker.com/myorg` instead" + SECRET),
        ("docker-repo: registry.hub.docker.com/myorg\nuser: alice\n",
         "forge.yaml: written for the 2017 Forge (docker-repo, user): write `registry: registry.hub.docker.com/myorg` "
         "instead"),
        ("registry:\n  type: docker\n  url: https://registry.hub.docker.com/\n  namespace: forgeorg\n",
         "forge.yaml: written for the 2017 Forge (registry (a mapping)): write `registry: "
         "registry.hub.docker.com/forgeorg` instead"),
        ("registry: {type: gcr, url: gcr.io, project: shop, key: e30=}\n",
         "forge.yaml: written for the 2017 Forge (registry (a mapping)): write `registry: gcr.io/shop` instead"
         + SECRET),
        ("registry: {type: ecr, account: 1234, region: eu-west-1}\n",
         "forge.yaml: written for the 2017 Forge (registry (a mapping)): write `registry: "
         "1234.dkr.ecr.eu-west-1.amazonaws.com` instead"),
        ("registry: {type: local}\nsearch-path: [../deps]\n",
         "forge.yaml: written for the 2017 Forge (registry (a mapping), search-path): remove them"),
    ],
    ids=["docker-repo-with-password", "docker-repo", "registry-docker", "registry-gcr", "registry-ecr", "local"],
)
def test_a_2017_forge_yaml_gets_its_rewrite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str,
                                            message: str) -> None:
    """Refused, not half-read: the message is the new line to write (and where the credentials went)."""
    write_tree(tmp_path, {"forge.yaml": config})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ForgeError) as caught:
        load_workspace(tmp_path)
    assert str(caught.value) == message + OLD_SUFFIX
