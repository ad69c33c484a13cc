"""The command line of issue 24: several PATHs or service names, --branch, --metadata, and the options that may come
before the command (`forge --profile alice deploy`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.forge.cli import Ran, forge
from tests.forge.conftest import write_tree

pytestmark = pytest.mark.unit


def metadata(result: Ran) -> list[dict]:
    assert result.exit_code == 0, result.stderr
    return [doc["build"] for doc in yaml.safe_load_all(result.stdout)]


def names(result: Ran) -> list[str]:
    assert result.exit_code == 0, result.stderr
    return [d["metadata"]["name"] for d in yaml.safe_load_all(result.stdout) if d]


def test_several_paths_and_names(sample_workspace: Path) -> None:
    assert [b["name"] for b in metadata(forge("render", "web", "db", "--metadata"))] == ["web", "db"]
    assert [b["name"] for b in metadata(forge("render", "db/service.yaml", "api", "--metadata"))] == ["db", "api"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--profile", "alice", "render", "web"), ("web-alice", "alice", "shop")),
        (("-p", "alice", "render", "web", "--profile", "bob"), ("web-bob", "bob", "shop")),  # after the command wins
        (("--canary", "render", "web"), ("web-canary", "canary", "shop")),
        (("-n", "team", "render", "web"), ("web", "default", "team")),
        (("--branch", "feature/x", "render", "web"), ("web-feature-x", "feature-x", "shop")),
        (("render", "web", "--branch", "feature/x"), ("web-feature-x", "feature-x", "shop")),
    ],
)
def test_options_before_the_command(sample_workspace: Path, args: tuple[str, ...],
                                    expected: tuple[str, str, str]) -> None:
    write_tree(sample_workspace, {"web/service.yaml": "name: web\nreplicas: 1\nport: 8080\nprofiles: {canary: {}}\n"
                                  "branches: {'*': \"{{ (branch or 'main') | replace('/', '-') }}\", main: default}\n"})
    (build,) = metadata(forge(*args, "--metadata"))
    assert (build["name"], build["profile"]["name"], build["namespace"]) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--profile", "alice", "list"), "Error: --profile (before the command) does not apply to forge list"),
        (("-n", "shop", "canary", "status", "web"),
         "Error: -n/--namespace (before the command) does not apply to forge canary status"),
        (("--branch", "main", "delete", "web"), "Error: --branch (before the command) does not apply to forge delete"),
        (("--canary", "render", "--profile", "x"), "Error: --canary and --profile cannot be used together"),
        (("-n", "Shop", "render"), "Error: Invalid value for '-n' / '--namespace': 'Shop' is not a DNS label "
         "(lowercase letters, digits and '-', at most 63 characters, starting and ending with a letter or digit)"),
        (("delete",), "Error: Missing argument 'SERVICE...'."),
        (("delete", "web", "Api"), "Error: Invalid value for 'SERVICE...': 'Api' is not a DNS label (lowercase "
         "letters, digits and '-', at most 63 characters, starting and ending with a letter or digit)"),
        (("render", "--metadata", "-o", "out"), "Error: --metadata prints; it cannot be written with -o DIR"),
    ],
)
def test_usage_errors(sample_workspace: Path, args: tuple[str, ...],
                      message: str) -> None:
    result = forge(*args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines()[-1] == message


def test_a_profile_copy_renders_beside_the_default(sample_workspace: Path) -> None:
    """`--profile alice`: every object named web-alice (the default profile's values), selectors on its own."""
    assert names(forge("render", "web", "--profile", "alice")) == ["web-alice-conf", "web-alice", "web-alice"]
