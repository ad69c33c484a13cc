"""Profile choice (first match wins) and the build names that follow from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from forge.config.descriptor import load_service
from forge.config.profiles import build_name, choose_profile, git_branch, profile_values, requested_profile
from forge.errors import ForgeError
from forge.model import Service
from tests.forge.conftest import write_tree

pytestmark = pytest.mark.unit

DESCRIPTOR = """\
profiles:
  staging: {replicas: 1}
  canary: {weight: 5}
  blue: {name: shop-blue}
branches:
  release/*: staging
  feature-*: canary
  "*": default
"""


@pytest.fixture
def service(tmp_path: Path, clean_env: None) -> Service:
    write_tree(tmp_path / "shop", {"service.yaml": DESCRIPTOR})
    return load_service(tmp_path / "shop" / "service.yaml")


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
        ({}, {}, "main", "default"),  # "*" -> default
    ],
)
def test_first_match_wins(service: Service, kwargs: dict, env: dict, branch: str | None, expected: str) -> None:
    assert choose_profile(service, env=env, branch=branch, **kwargs) == expected


def test_branch_read_from_the_git_work_tree(tmp_path: Path, clean_env: None) -> None:
    write_tree(tmp_path / "repo", {".git/HEAD": "ref: refs/heads/release/3.1\n", "shop/service.yaml": DESCRIPTOR})
    service = load_service(tmp_path / "repo" / "shop" / "service.yaml")
    assert git_branch(service.root) == "release/3.1"
    assert choose_profile(service, env={}) == "staging"


def test_detached_head_and_worktrees(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a/.git/HEAD": "3f2a9c0d\n", "gitdir/HEAD": "ref: refs/heads/topic\n",
                          "b/.git": "gitdir: ../gitdir\n", "b/sub/x": ""})
    assert git_branch(tmp_path / "a") is None
    assert git_branch(tmp_path / "b" / "sub") == "topic"


def test_unknown_profile_is_an_error(service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ForgeError) as caught:
        choose_profile(service, profile="stagin", env={})
    assert str(caught.value) == (
        "shop/service.yaml: profile 'stagin' is not defined (profiles: blue, canary, default, staging)"
    )


def test_default_needs_no_definition_canary_does(tmp_path: Path, clean_env: None,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {"plain/service.yaml": "{}\n", "canaried/service.yaml": "profiles: {canary: {}}\n"})
    plain = load_service(tmp_path / "plain" / "service.yaml")
    assert choose_profile(plain, profile="default", env={}) == "default"
    assert choose_profile(load_service(tmp_path / "canaried" / "service.yaml"), canary=True, env={}) == "canary"
    with pytest.raises(ForgeError) as caught:
        choose_profile(plain, canary=True, env={})
    assert str(caught.value) == "plain/service.yaml: profile 'canary' is not defined (profiles: default)"


@pytest.mark.parametrize("value", ["ture", "canary", "2", "y"])
def test_canary_typo_is_an_error(value: str) -> None:
    with pytest.raises(ForgeError) as caught:
        requested_profile(None, False, {"CANARY": value})
    assert str(caught.value) == f"CANARY={value}: expected true, 1, yes or on (canary) or false, 0, no or off (not)"


@pytest.mark.parametrize(("value", "wanted"),
                         [("false", None), ("OFF", None), ("0", None), ("", None), ("On", "canary")])
def test_canary_values(value: str, wanted: str | None) -> None:
    assert requested_profile(None, False, {"CANARY": value}) == wanted


@pytest.mark.parametrize(
    ("profile", "name"),
    [("default", "shop"), ("canary", "shop-canary"), ("staging", "shop"), ("blue", "shop-blue")],
)
def test_build_names(service: Service, profile: str, name: str) -> None:
    assert build_name(service, profile) == name


def test_canary_name_can_be_set_by_the_profile(tmp_path: Path, clean_env: None) -> None:
    write_tree(tmp_path / "qotm", {"service.yaml": "profiles:\n  canary: {name: qotm-next}\n"})
    assert build_name(load_service(tmp_path / "qotm" / "service.yaml"), "canary") == "qotm-next"


def test_profile_values_carry_the_profile_name(service: Service) -> None:
    assert profile_values(service, "canary") == {"weight": 5, "name": "canary"}
    assert profile_values(service, "default") == {"name": "default"}
