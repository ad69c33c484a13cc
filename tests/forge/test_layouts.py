"""Workspace layouts: the root is a service or not, services nested two deep, and a directory above one or more
workspaces (`cd ~ && forge deploy`). Discovery finds every service of the workspace; `requires` resolves any of
them; another workspace below (its own forge.yaml or .git) is never walked into."""

from __future__ import annotations

from pathlib import Path

import pytest

from forge.errors import ForgeError
from forge.plan import plan
from tests.forge.cli import forge
from tests.forge.conftest import tree_digest, write_tree

pytestmark = pytest.mark.unit

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ build.name }}\ndata: {}\n"


def service(name: str, requires: str = "") -> dict[str, str]:
    """A service `name` in directory `name` (relative paths are added by the caller), with one ConfigMap."""
    descriptor = f"name: {name}\n" + (f"requires: {requires}\n" if requires else "")
    return {"service.yaml": descriptor, "k8s/cm.yaml": CONFIGMAP}


def tree(**services: dict[str, str]) -> dict[str, str]:
    """{directory: service files} -> {path: text}; the directory "." is the workspace root."""
    return {(f"{d}/{f}" if d != "." else f).replace("__", "/"): t for d, files in services.items()
            for f, t in files.items()}


def names(path: Path) -> list[str]:
    return [b.name for b in plan(path)]


@pytest.fixture
def root_is_a_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None) -> Path:
    """forge.yaml's directory is itself the service `app`, which requires `child`; child/grand is two deep and
    requires the root service's sibling `tools`."""
    root = tmp_path / "app"
    write_tree(root, {"forge.yaml": "namespace: shop\n"} | tree(**{
        ".": service("app", "child"),
        "child": service("child"),
        "child__grand": service("grand", "[tools]"),
        "tools": service("tools"),
    }))
    monkeypatch.chdir(root)
    return root


def test_root_is_a_service_every_service_below_is_found(root_is_a_service: Path) -> None:
    assert names(root_is_a_service) == ["child", "app", "tools", "grand"]


def test_root_is_a_service_requires_resolves_nested_services(root_is_a_service: Path) -> None:
    """The 2017 bug: `requires: child` from the root service was `unknown service 'child'`."""
    assert names(root_is_a_service / "service.yaml") == ["child", "app"]


def test_nested_two_deep_from_inside(root_is_a_service: Path) -> None:
    assert names(root_is_a_service / "child") == ["child", "tools", "grand"]  # child, grand and what grand requires
    assert names(root_is_a_service / "child" / "grand") == ["tools", "grand"]
    assert names(root_is_a_service / "child" / "grand" / "k8s") == ["tools", "grand"]  # searched upward


def test_a_required_root_service_is_found_from_a_nested_one(root_is_a_service: Path) -> None:
    write_tree(root_is_a_service, {"tools/service.yaml": "name: tools\nrequires: app\n"})
    assert names(root_is_a_service / "tools") == ["child", "app", "tools"]


def test_root_is_not_a_service_nested_two_deep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               clean_env: None) -> None:
    write_tree(tmp_path / "ws", {"forge.yaml": "{}\n"} | tree(**{
        "shop": service("shop", "[deep]"),
        "group__one": service("one"),
        "group__one__deep": service("deep"),
    }))
    monkeypatch.chdir(tmp_path / "ws")
    assert names(tmp_path / "ws") == ["one", "deep", "shop"]
    assert names(tmp_path / "ws" / "shop") == ["deep", "shop"]
    assert names(tmp_path / "ws" / "group") == ["one", "deep"]


def test_render_from_the_root_service_renders_all(root_is_a_service: Path) -> None:
    result = forge("render")
    assert result.exit_code == 0, result.stderr
    assert [line for line in result.stdout.splitlines() if line.startswith("  name:")] == [
        "  name: child", "  name: app", "  name: tools", "  name: grand"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None) -> Path:
    """A home directory (no forge.yaml, not in git) holding two checkouts: shopbox (git, forge.yaml, services qotm
    and edge) and tool (git, one service)."""
    home = tmp_path / "home"
    write_tree(home, {
        "shopbox/.git/HEAD": "ref: refs/heads/main\n",
        "shopbox/forge.yaml": "registry: localhost:5001\nnamespace: shop\n",
        "tool/.git/HEAD": "ref: refs/heads/main\n",
    } | tree(shopbox__qotm=service("qotm"), shopbox__edge=service("edge", "qotm"), tool__svc=service("svc")))
    monkeypatch.chdir(home)
    return home


def test_above_workspaces_refuses_listing_them(home: Path) -> None:
    """`cd ~ && forge deploy` must not walk into the checkouts below (with the settings of no workspace)."""
    before = tree_digest(home)
    result = forge("render", "-o", "out")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "error: .: no service.yaml in this workspace; below it are other workspaces, each with its own settings: "
        "shopbox (forge.yaml), tool (git repository) (run forge inside one of them, e.g. cd shopbox)\n")
    assert tree_digest(home) == before


def test_inside_one_workspace_its_settings_apply(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(home / "shopbox")
    builds = plan(home / "shopbox" / "edge")
    assert [(b.name, b.namespace) for b in builds] == [("qotm", "shop"), ("edge", "shop")]


def test_a_path_into_a_workspace_below_uses_that_workspace(home: Path) -> None:
    """Named from above, a service is still planned with its own workspace's forge.yaml."""
    assert [(b.name, b.namespace) for b in plan(home / "shopbox" / "qotm")] == [("qotm", "shop")]


def test_a_workspace_nested_in_another_is_left_to_itself(sample_workspace: Path) -> None:
    write_tree(sample_workspace, {"vendor/kit/forge.yaml": "{}\n"} | tree(vendor__kit__svc=service("kit"),
                                                                          vendor__lib=service("lib")))
    write_tree(sample_workspace, {"vendor/lib/.git/HEAD": "ref: refs/heads/main\n"})
    result = forge("render", "-o", str(sample_workspace.parent / "out"))
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[:-1] == [  # only the forge.yaml workspace is worth a note; then the summary
        "note: skipped vendor/kit: another workspace (its own forge.yaml); run forge there for its services"]
    assert sorted(p.name for p in (sample_workspace.parent / "out").iterdir()) == ["api", "db", "web"]


def test_a_git_submodule_is_part_of_the_workspace_a_worktree_is_not(sample_workspace: Path) -> None:
    """Vendoring a required service as a git submodule keeps it in the workspace; another worktree is another
    checkout."""
    write_tree(sample_workspace, {"web/service.yaml": "name: web\nrequires: [kit]\n",
                                  "vendor/kit/.git": "gitdir: ../../.git/modules/vendor/kit\n",
                                  "wt/.git": "gitdir: /elsewhere/.git/worktrees/wt\n"}
               | tree(vendor__kit=service("kit"), wt__svc=service("copy")))
    assert names(sample_workspace) == ["db", "api", "kit", "web"]


def test_requires_does_not_reach_into_another_workspace(sample_workspace: Path) -> None:
    write_tree(sample_workspace, {"vendor/kit/forge.yaml": "{}\n", "web/service.yaml": "name: web\nrequires: kit\n"}
               | tree(vendor__kit=service("kit")))
    with pytest.raises(ForgeError, match=r"^web/service.yaml: requires: unknown service 'kit'$"):
        plan(sample_workspace / "web")


def test_forge_yaml_above_a_checkout_requires_inside_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        clean_env: None) -> None:
    """forge.yaml in the home directory makes it the workspace root: the checkout the PATH is in is still searched
    for `requires`, the other checkouts are not."""
    write_tree(tmp_path, {"forge.yaml": "namespace: mine\n", "repo/.git/HEAD": "ref: refs/heads/main\n",
                          "other/.git/HEAD": "ref: refs/heads/main\n"}
               | tree(repo__web=service("web", "db"), repo__db=service("db"), other__db2=service("db2")))
    monkeypatch.chdir(tmp_path)
    assert [(b.name, b.namespace) for b in plan(tmp_path / "repo" / "web")] == [("db", "mine"), ("web", "mine")]
