"""The plan: requires order and closure, uniqueness, namespace/registry/build-arg resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from forge.errors import ForgeError
from forge.images.version import container_version
from forge.plan import plan
from tests.forge.conftest import write_tree

pytestmark = pytest.mark.unit


def names(root: Path, **kwargs: object) -> list[str]:
    return [b.service.name for b in plan(root, **kwargs)]  # type: ignore[arg-type]


def test_required_services_come_first(sample_workspace: Path) -> None:
    assert names(sample_workspace) == ["db", "api", "web"]


def test_transitive_requirements_are_ordered_and_pulled_in(sample_workspace: Path) -> None:
    write_tree(sample_workspace, {"db/service.yaml": "name: db\nsize: 1Gi\nrequires: [vault]\n",
                                  "infra/vault/service.yaml": "{}\n"})
    assert names(sample_workspace) == ["vault", "db", "api", "web"]
    assert names(sample_workspace / "api") == ["vault", "db", "api"]
    assert names(sample_workspace / "web") == ["web"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"api/service.yaml": "requires: [dbb]\n"}, "api/service.yaml: requires: unknown service 'dbb'"),
        ({"db/service.yaml": "requires: [api]\n"}, "api/service.yaml: requires: cycle api -> db -> api"),
        ({"web/service.yaml": "requires: [web]\n"}, "web/service.yaml: requires: cycle web -> web"),
        ({"copy/service.yaml": "name: web\n"}, "web/service.yaml: name: service 'web' is also defined in "
         "copy/service.yaml"),
        ({"x/service.yaml": "containers: [{dockerfile: Dockerfile, name: web}]\n", "x/Dockerfile": "FROM a\n"},
         "x/service.yaml: containers: image name 'web' is also used by web/service.yaml"),
    ],
    ids=["unknown", "cycle", "self", "duplicate-service", "duplicate-image"],
)
def test_plan_errors(sample_workspace: Path, files: dict[str, str], message: str) -> None:
    write_tree(sample_workspace, files)
    with pytest.raises(ForgeError) as caught:
        plan(sample_workspace)
    assert str(caught.value) == message


def test_unknown_requirement_from_a_single_service(sample_workspace: Path) -> None:
    write_tree(sample_workspace, {"api/service.yaml": "requires: [cache]\n"})
    with pytest.raises(ForgeError, match=r"^api/service.yaml: requires: unknown service 'cache'$"):
        plan(sample_workspace / "api")


def test_namespace_and_registry_resolution(sample_workspace: Path) -> None:
    (web,) = plan(sample_workspace / "web")
    assert web.namespace == "shop" and web.images["web"].ref.startswith("localhost:5001/web:")
    (web,) = plan(sample_workspace / "web", namespace="team", registry="docker.io/alice")
    assert web.namespace == "team" and web.images["web"].ref == f"docker.io/alice/web:{web.version}"
    (sample_workspace / "forge.yaml").write_text("{}\n")
    (web,) = plan(sample_workspace / "web")
    assert web.namespace == "default" and web.images["web"].ref == f"web:{web.version}"


def test_build_args_precedence(sample_workspace: Path) -> None:
    write_tree(sample_workspace, {"web/service.yaml": "containers:\n  - dockerfile: Dockerfile\n"
                                  "    args: {BASE_IMAGE: own, X: container}\n"})
    (web,) = plan(sample_workspace / "web")
    container = web.images["web"].container
    assert web.images["web"].version == container_version(container, {"BASE_IMAGE": "own", "X": "container"})
    (web,) = plan(sample_workspace / "web", build_args={"X": "cli"})
    assert web.images["web"].version == container_version(container, {"BASE_IMAGE": "own", "X": "cli"})
    # The image carries the merged args: they are what the build hands to Docker, not only what the hash saw.
    assert web.images["web"].container.args == {"BASE_IMAGE": "own", "X": "cli"}


def test_no_services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ForgeError, match=r"^empty: no service.yaml found$"):
        plan(tmp_path / "empty")
    with pytest.raises(ForgeError, match=r"^no/where: no such file or directory$"):
        plan("no/where")
    with pytest.raises(ForgeError, match=r"^nowhere: no such file, directory or service in the workspace "):
        plan("nowhere")  # a DNS label: it could have been a service's name


def test_several_targets_one_plan(sample_workspace: Path) -> None:
    """`forge deploy web db`: the union, each service once, in requires order, as if deployed one by one."""
    assert names(sample_workspace) == ["db", "api", "web"]
    assert names([sample_workspace / "web", sample_workspace / "db"]) == ["web", "db"]
    assert names([sample_workspace / "api", sample_workspace / "db"]) == ["db", "api"]
    assert names([sample_workspace, sample_workspace / "web"]) == ["db", "api", "web"]


def test_targets_may_be_service_names(sample_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(sample_workspace, {"deep/er/svc/service.yaml": "name: far\n"})
    monkeypatch.chdir(sample_workspace / "web")  # names are looked up in the workspace, wherever forge runs
    assert names(["far", "api"]) == ["far", "db", "api"]
    assert names(["web", sample_workspace / "db"]) == ["web", "db"]  # ./web does not exist here: the service
    monkeypatch.chdir(sample_workspace)
    with pytest.raises(ForgeError) as caught:
        plan(["wbe"])
    assert str(caught.value) == ("wbe: no such file, directory or service in the workspace . (services: api, db, "
                                 "far, web)")


def test_several_targets_the_named_ones_must_have_the_profile(sample_workspace: Path) -> None:
    with pytest.raises(ForgeError, match=r"^db/service.yaml: profile 'canary' is not defined \(profiles: default\)$"):
        plan([sample_workspace / "web", sample_workspace / "db"], canary=True)
    assert [(b.name, b.profile) for b in plan([sample_workspace, sample_workspace / "web"], canary=True)] == [
        ("web-canary", "canary")]  # the root names no service one by one: db and api are skipped


def test_targets_in_two_workspaces_are_refused(sample_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(sample_workspace.parent, {"other/forge.yaml": "{}\n", "other/svc/service.yaml": "{}\n"})
    monkeypatch.chdir(sample_workspace.parent)
    with pytest.raises(ForgeError) as caught:
        plan([sample_workspace / "web", sample_workspace.parent / "other" / "svc"])
    assert str(caught.value) == ("other/svc: in the workspace other, not in ws like the first PATH (deploy each "
                                 "workspace's services with its own forge command)")


def test_set_over_several_targets(sample_workspace: Path) -> None:
    with pytest.raises(ForgeError, match=r"^--set wieght: no such field in any of the 2 service.yaml files under "
                                         r"web, db$"):
        plan([sample_workspace / "web", sample_workspace / "db"], overrides={"wieght": 3})
