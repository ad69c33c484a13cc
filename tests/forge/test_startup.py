"""Fast start: commands that need neither the Kubernetes nor the Docker client do not import them, and the lazy
command tables list each command with its own help text. (Timings are in `make bench`: tests/bench/startup_bench.py.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.utils import make_default_short_help

from forge.cli import main
from forge.commands import LazyGroup
from tests.platform.procs import free_port

pytestmark = pytest.mark.unit

CLIENTS = ("kubernetes", "docker")


def imported_clients(args: list[str], cwd: Path) -> tuple[int, list[str]]:
    """(exit code, which of the client packages `forge ARGS` imported), from python -X importtime."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "forge", *args], cwd=cwd,
                            capture_output=True, text=True, timeout=120, check=False)
    names = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time")}
    return result.returncode, [name for name in CLIENTS if name in names]


@pytest.mark.parametrize(
    ("args", "code"),
    [(["--help"], 0), (["render"], 0), (["canary", "--help"], 0), (["canary", "status", "--help"], 0),
     (["canary", "status", "qotm", "--prometheus", "http://127.0.0.1:{port}"], 1)],
    ids=["help", "render", "canary-help", "canary-status-help", "canary-status"],
)
def test_commands_that_need_no_client_do_not_import_one(sample_workspace: Path, args: list[str], code: int) -> None:
    args = [a.format(port=free_port()) for a in args]
    assert imported_clients(args, sample_workspace) == (code, [])


def test_the_check_can_fail(sample_workspace: Path) -> None:
    """The same measurement sees the clients where they are used: `forge deploy --help` loads its module."""
    assert imported_clients(["deploy", "--help"], sample_workspace) == (0, list(CLIENTS))


def _groups() -> list[tuple[str, LazyGroup]]:
    ctx = click.Context(main)
    canary = main.get_command(ctx, "canary")
    assert isinstance(canary, LazyGroup)
    return [("forge", main), ("forge canary", canary)]


@pytest.mark.parametrize(("name", "group"), _groups(), ids=["forge", "canary"])
def test_lazy_tables_carry_each_commands_own_help(name: str, group: LazyGroup) -> None:
    ctx = click.Context(group, info_name=name)
    for command_name, (_target, summary) in group.lazy.items():
        command = group.get_command(ctx, command_name)
        assert command is not None, command_name
        assert make_default_short_help(summary, 500) == command.get_short_help_str(500), command_name
