"""Fast start: commands that need neither the Kubernetes nor the Docker client do not import them; every command's
help comes from its own module without loading one (the help text lives only there). (Timings are in `make bench`:
tests/bench/startup_bench.py.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from forge.cli import main
from tests.platform.procs import free_port

pytestmark = pytest.mark.unit

CLIENTS = ("kubernetes", "docker")


def imported_clients(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    """(exit code, which of the client packages `forge ARGS` imported), from python -X importtime."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "forge", *args], cwd=cwd,
                            env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=120,
                            check=False)
    names = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time")}
    return result.returncode, [name for name in CLIENTS if name in names]


@pytest.mark.parametrize(
    ("args", "code"),
    [(["--help"], 0), (["render"], 0), (["canary", "status", "qotm", "--prometheus", "http://127.0.0.1:{port}"], 1)],
    ids=["help", "render", "canary-status"],
)
def test_commands_that_need_no_client_do_not_import_one(sample_workspace: Path, args: list[str], code: int) -> None:
    args = [a.format(port=free_port()) for a in args]
    assert imported_clients(args, sample_workspace) == (code, [])


def _command_paths(group: click.Group = main, prefix: tuple[str, ...] = ()) -> list[list[str]]:
    ctx = click.Context(group)
    paths = []
    for name in group.list_commands(ctx):
        paths.append([*prefix, name])
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            paths += _command_paths(command, (*prefix, name))
    return paths


@pytest.mark.parametrize("path", _command_paths(), ids=" ".join)
def test_every_commands_help_loads_no_client(sample_workspace: Path, path: list[str]) -> None:
    """`forge CMD --help` reads the command's own docstring; its verb (and the clients) load only when it runs."""
    assert imported_clients([*path, "--help"], sample_workspace) == (0, [])


def test_the_check_can_fail(sample_workspace: Path, tmp_path: Path) -> None:
    """The same measurement sees a client where it is used: `forge list` connects (here: to no kubeconfig)."""
    env = {"KUBECONFIG": str(tmp_path / "none")}
    assert imported_clients(["list"], sample_workspace, env) == (1, ["kubernetes"])
