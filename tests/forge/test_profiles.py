"""Profile choice (first match wins), the `branches` map, and the build names that follow from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from forge.config.descriptor import load_service
from forge.config.profiles import (
    build_name,
    choose_profile,
    current_branch,
    git_branch,
    glob_problem,
    profile_values,
    requested_profile,
)
from forge.errors import ForgeError
from forge.model import Service
from forge.plan import meant_profile
from tests.forge.conftest import write_tree

pytestmark = pytest.mark.unit

# The bare "*" comes first in the file, yet it is the default: tried after every other glob.
DESCRIPTOR = """\
profiles:
  staging: {replicas: 1}
  canary: {weight: 5}
  blue: {name: shop-blue}
branches:
  "*": default
  release/*: staging
  feature-*: canary
  preview/*: preview
"""


def shop(tmp_path: Path, branch: str | None = None, descriptor: str = DESCRIPTOR) -> Service:
    write_tree(tmp_path / "shop", {"service.yaml": descriptor})
    return load_service(tmp_path / "shop" / "service.yaml", env={}, branch=branch)


def write_descriptor(service: Service, text: str) -> Path:
    service.descriptor_path.write_text(text)
    return service.descriptor_path


@pytest.fixture
def service(tmp_path: Path, clean_env: None) -> Service:
    return shop(tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "env", "branch", "expected"),
    [
        ({}, {}, None, "default"),
        ({"profile": "staging"}, {"FORGE_PROFILE": "blue", "CANARY": "true"}, "feature-x", "staging"),
        ({}, {"FORGE_PROFILE": "blue", "CANARY": "true"}, "feature-x", "blue"),
        ({"canary": True}, {}, "release/1.0", "canary"),
        ({}, {"CANARY": "true"}, "release/1.0", "canary"),
        ({}, {"CANARY": "1"}, None, "canary"),
        ({}, {"CANARY": "YES"}, None, "canary"),
        ({}, {"CANARY": "false"}, None, "default"),
        ({}, {"CANARY": "0"}, "release/2", "staging"),
        ({}, {"CANARY": ""}, "feature-login", "canary"),
        ({}, {}, "main", "default"),  # "*" -> default, although it is the first glob
        ({}, {}, "preview/login", "preview"),  # undeclared, from a branch: a copy
        ({"profile": "alice"}, {}, "release/1", "alice"),  # undeclared, explicit: a copy
    ],
)
def test_first_match_wins(tmp_path: Path, clean_env: None, kwargs: dict, env: dict, branch: str | None,
                          expected: str) -> None:
    assert choose_profile(shop(tmp_path, branch), env=env, **kwargs) == expected


def test_branch_read_from_the_git_work_tree(tmp_path: Path, clean_env: None) -> None:
    write_tree(tmp_path / "repo", {".git/HEAD": "ref: refs/heads/release/3.1\n", "shop/service.yaml": DESCRIPTOR})
    service = load_service(tmp_path / "repo" / "shop" / "service.yaml", env={})
    assert (git_branch(service.root), service.branch) == ("release/3.1", "release/3.1")
    assert choose_profile(service, env={}) == "staging"
    overridden = load_service(tmp_path / "repo" / "shop" / "service.yaml", env={"FORGE_BRANCH": "feature-x"})
    assert choose_profile(overridden, env={}) == "canary"
    assert current_branch(service.root, {"FORGE_BRANCH": "feature-x"}, "preview/y") == "preview/y"  # --branch


def test_detached_head_and_worktrees(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a/.git/HEAD": "3f2a9c0d\n", "gitdir/HEAD": "ref: refs/heads/topic\n",
                          "b/.git": "gitdir: ../gitdir\n", "b/sub/x": ""})
    assert git_branch(tmp_path / "a") is None
    assert git_branch(tmp_path / "b" / "sub") == "topic"


def test_a_profile_from_the_environment_must_be_declared(service: Service, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """FORGE_PROFILE lingers in a shell: a typo in it must not deploy a copy. --profile may."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ForgeError) as caught:
        choose_profile(service, env={"FORGE_PROFILE": "stagin"})
    assert str(caught.value) == (
        "shop/service.yaml: profile 'stagin' is not defined (profiles: blue, canary, default, staging) "
        "(to deploy a separate copy named shop-stagin, pass --profile stagin)")
    assert choose_profile(service, profile="stagin", env={}) == "stagin"


def test_default_needs_no_definition_canary_does(tmp_path: Path, clean_env: None,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {"plain/service.yaml": "branches: {main: canary}\n",
                          "canaried/service.yaml": "profiles: {canary: {}}\n"})
    plain = load_service(tmp_path / "plain" / "service.yaml", env={}, branch="topic")
    assert choose_profile(plain, profile="default", env={}) == "default"
    assert choose_profile(load_service(tmp_path / "canaried" / "service.yaml"), canary=True, env={}) == "canary"
    for how in ({"canary": True}, {"profile": "canary"}):
        with pytest.raises(ForgeError) as caught:
            choose_profile(plain, env={}, **how)
        assert str(caught.value) == "plain/service.yaml: profile 'canary' is not defined (profiles: default)"
    on_main = load_service(tmp_path / "plain" / "service.yaml", env={}, branch="main")
    with pytest.raises(ForgeError, match=r"^plain/service.yaml: profile 'canary' is not defined"):
        choose_profile(on_main, env={})  # a canary needs its profile, wherever the name comes from


@pytest.mark.parametrize("value", ["ture", "canary", "2", "y"])
def test_canary_typo_is_an_error(value: str) -> None:
    with pytest.raises(ForgeError) as caught:
        requested_profile("alice", False, {"CANARY": value})
    assert str(caught.value) == f"CANARY={value}: expected true, 1, yes or on (canary) or false, 0, no or off (not)"


@pytest.mark.parametrize(("value", "wanted"),
                         [("false", None), ("OFF", None), ("0", None), ("", None), ("On", "canary")])
def test_canary_values(value: str, wanted: str | None) -> None:
    requested = requested_profile(None, False, {"CANARY": value})
    assert (requested.name if requested else None) == wanted


@pytest.mark.parametrize(
    ("profile", "name"),
    [("default", "shop"), ("canary", "shop-canary"), ("staging", "shop-staging"), ("blue", "shop-blue"),
     ("alice", "shop-alice")],
)
def test_build_names(service: Service, profile: str, name: str) -> None:
    assert build_name(service, profile) == name


def test_canary_name_can_be_set_by_the_profile(tmp_path: Path, clean_env: None) -> None:
    write_tree(tmp_path / "qotm", {"service.yaml": "profiles:\n  canary: {name: qotm-next}\n"})
    assert build_name(load_service(tmp_path / "qotm" / "service.yaml"), "canary") == "qotm-next"


def test_a_copy_name_must_be_a_dns_label_and_short_enough(service: Service, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ForgeError) as caught:
        build_name(service, "Alice")
    assert str(caught.value) == ("profile 'Alice' is not a DNS label (lowercase letters, digits and '-', at most 63 "
                                 "characters): a copy is named <service>-<profile>")
    with pytest.raises(ForgeError) as caught:
        build_name(service, "x" * 60)
    assert str(caught.value) == (f"shop/service.yaml: profile '{'x' * 60}': the build name 'shop-{'x' * 60}' is "
                                 "longer than 63 characters")


def test_profile_values_carry_the_profile_name(service: Service) -> None:
    assert profile_values(service, "canary") == {"weight": 5, "name": "canary"}
    assert profile_values(service, "default") == {"name": "default"}
    assert profile_values(service, "alice") == {"name": "alice"}
    with_default = load_service(write_descriptor(service, "profiles: {default: {replicas: 3, name: main}}\n"))
    assert profile_values(with_default, "alice") == {"replicas": 3, "name": "alice"}  # a copy of the default
    assert build_name(with_default, "alice") == "shop-alice"


def test_a_templated_branches_map_makes_one_profile_per_branch(tmp_path: Path, clean_env: None) -> None:
    """The 2017 Forge's way to give every branch its own copy: the profile computed from the branch name."""
    descriptor = "branches:\n  main: default\n  '*': \"{{ (branch or 'dev') | replace('/', '-') | lower }}\"\n"
    assert choose_profile(shop(tmp_path, "feature/Login", descriptor), env={}) == "feature-login"
    assert choose_profile(shop(tmp_path, "main", descriptor), env={}) == "default"


def test_only_the_matching_globs_profile_must_be_a_dns_label(tmp_path: Path, clean_env: None) -> None:
    """The `*` template gives release/1.0 'release-1.0', not a DNS label, but release/* matches first: staging."""
    descriptor = ("branches:\n  main: default\n  release/*: staging\n  hotfix/*: Hot_Fix\n"
                  "  '*': \"{{ (branch or 'dev') | replace('/', '-') | lower }}\"\n")
    assert choose_profile(shop(tmp_path, "release/1.0", descriptor), env={}) == "staging"
    with pytest.raises(ForgeError, match=r"shop/service.yaml: branches.\*: 'fix-1.0' is not a valid profile name"):
        shop(tmp_path, "fix/1.0", descriptor)
    with pytest.raises(ForgeError, match=r"shop/service.yaml: branches.hotfix/\*: 'Hot_Fix' is not a valid profile"):
        shop(tmp_path, "hotfix/x", descriptor)


@pytest.mark.parametrize(
    ("glob", "problem"),
    [
        ("*", None), ("release/*", None), ("feature-*", None), ("a.*.b", None), ("[ab]*", None), ("*-x", None),
        ("feature /*", "a space or control character"),
        ("fix:1", "'~', '^', ':', '[' or a backslash"),
        ("main[", "'~', '^', ':', '[' or a backslash"),
        ("a..b", "'..', '@{' or '//'"),
        ("release//*", "'..', '@{' or '//'"),
        ("/main", "'/' or '-' at the start"),
        ("-x*", "'/' or '-' at the start"),
        ("main/", "'/', '.' or '.lock' at the end"),
        ("*.lock", "'/', '.' or '.lock' at the end"),
        ("release/.x*", "a part that starts with '.'"),
    ],
)
def test_globs_that_match_no_branch(glob: str, problem: str | None) -> None:
    found = glob_problem(glob)
    assert found == (f"matches no branch: git branch names cannot have {problem}" if problem else None)


def test_an_empty_glob_matches_no_branch() -> None:
    assert glob_problem("") == "matches no branch: it is empty"


# ---- the deployment a command naming a service means (forge delete, url, logs, port-forward) ------------------


@pytest.mark.parametrize(
    ("profile", "canary", "env", "expected"),
    [
        (None, False, {}, "default"),
        (None, True, {}, "canary"),
        ("blue", False, {"CANARY": "true"}, "blue"),
        (None, False, {"CANARY": "yes"}, "canary"),
        (None, False, {"CANARY": "false"}, "default"),
        (None, False, {"FORGE_PROFILE": "blue", "CANARY": "1"}, "blue"),
        (None, True, {"FORGE_PROFILE": "blue"}, "blue"),  # the order forge deploy uses
        (None, False, {"FORGE_BRANCH": "feature-x"}, "default"),  # no workspace here: no branches to read
    ],
)
def test_meant_profile_outside_a_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, profile: str | None,
                                          canary: bool, env: dict[str, str], expected: str) -> None:
    monkeypatch.chdir(tmp_path)
    assert meant_profile("shop", profile, canary, env) == expected


@pytest.mark.parametrize(
    ("branch", "profile", "expected"),
    [
        ("feature/Login", None, "feature-login"),  # the copy forge deploy made on this branch
        ("main", None, "default"),
        (None, None, "default"),
        ("feature/Login", "alice", "alice"),  # --profile wins, as in forge deploy
    ],
)
def test_meant_profile_follows_the_services_branches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    clean_env: None, branch: str | None, profile: str | None,
                                                    expected: str) -> None:
    """In the workspace (cd'ed into another service), `forge delete shop` on a branch means the branch's copy."""
    write_tree(tmp_path, {"forge.yaml": "namespace: x\n", "other/service.yaml": "containers: []\n",
                          "shop/service.yaml": "containers: []\nbranches:\n  main: default\n"
                                               "  '*': \"{{ (branch or 'dev') | replace('/', '-') | lower }}\"\n"})
    monkeypatch.chdir(tmp_path / "other")
    env = {"FORGE_BRANCH": branch} if branch else {}
    assert meant_profile("shop", profile, False, env) == expected
    assert meant_profile("elsewhere", profile, False, env) == (profile or "default")  # not in this workspace


def test_meant_profile_branch_to_an_undeclared_canary_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   clean_env: None) -> None:
    write_tree(tmp_path, {"forge.yaml": "", "shop/service.yaml": "containers: []\nbranches: {main: canary}\n"})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ForgeError, match=r"^shop/service.yaml: profile 'canary' is not defined"):
        meant_profile("shop", None, False, {"FORGE_BRANCH": "main"})
