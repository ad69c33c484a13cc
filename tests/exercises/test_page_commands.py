"""Every exercise page's `$ forge ...` and `./shopbox.sh ...` calls exist as written: the subcommands, options
and arguments resolve with forge's own click CLI and match `./shopbox.sh --help`. So a page never shows a
command or flag the tools do not have."""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path

import click
import pytest

from exercises.lab.page import read
from exercises.lab.shell import STRICT
from exercises.lab.words import program_calls, script_commands, simple_commands
from forge.cli import main as forge_main
from tests.platform.fixtures import require_command

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
EXERCISES = ROOT / "exercises"
# One page per module of the day's outline (slides/README.md).
PAGES = ["01-docker.md", "02-compose.md", "03-kubernetes.md", "04-forge.md", "05-edge.md", "06-prometheus.md",
         "07-canary.md", "08-resilience.md", "09-mesh.md"]


def all_commands() -> list[str]:
    """Every command the pages show or run: `$ ` lines, their replacements, checks, solves and resets."""
    commands: list[str] = []
    for name in PAGES:
        page = read(EXERCISES / name)
        commands += [command for line in page.lines for command in (line.command, *line.instead)]
        scripts = [page.reset, page.check, *(s for step in page.steps for s in (step.check, step.solve))]
        commands += [command for script in scripts for command in script_commands(script.text)]
    return commands


def resolve_forge(args: list[str]) -> None:
    """Parse `forge ARGS` down to the last subcommand the way click does before invoking it; raises
    click.UsageError (unknown command or option, bad value, missing argument)."""
    command: click.Command = forge_main
    ctx = command.make_context("forge", list(args))
    while isinstance(command, click.Group):
        rest = [*ctx._protected_args, *ctx.args]  # what Group.invoke hands to the subcommand
        if not rest:
            raise click.UsageError("missing command", ctx)
        name, sub, rest = command.resolve_command(ctx, rest)
        assert name is not None and sub is not None
        command, ctx = sub, sub.make_context(name, rest, parent=ctx)


SHELL_VARIABLE = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")
SAMPLE_VALUE = "qotm"


def forge_error(args: list[str]) -> str | None:
    try:
        resolve_forge(args)
    except click.exceptions.Exit as done:  # --help, --version
        return None if done.exit_code == 0 else f"exit {done.exit_code}"
    except click.ClickException as err:
        return err.format_message()
    return None


def test_every_module_has_a_page_with_steps_and_a_check() -> None:
    for name in PAGES:
        text = (EXERCISES / name).read_text(encoding="utf-8")
        assert "**Goal:**" in text, name
        page = read(EXERCISES / name)  # also: every step has a check, a hint and a solve; the page a reset
        assert page.number == PAGES.index(name) + 1 == int(name[:2]), f"{name}: its title says page {page.number}"
        assert page.minutes, f"{name}: no `About N minutes`"
        assert all(step.lines for step in page.steps), f"{name}: a step without `$ ` lines"


def test_the_resolver_rejects_what_forge_rejects() -> None:
    assert forge_error(["deploy", "qotm", "--canary", "--timeout", "90s"]) is None
    assert forge_error(["canary", "status", "qotm", "--help"]) is None
    assert "No such option '--no-such-flag'" in (forge_error(["deploy", "--no-such-flag"]) or "")
    assert "No such command 'statuz'" in (forge_error(["canary", "statuz", "qotm"]) or "")
    assert "Missing argument 'SERVICE'" in (forge_error(["canary", "abort"]) or "")
    assert "is not in the range" in (forge_error(["canary", "status", "q", "--max-error-rate", "2"]) or "")
    assert forge_error(["canary"]) is not None


def test_every_forge_call_on_the_pages_parses() -> None:
    calls = program_calls(all_commands(), "forge")
    assert len(calls) >= 20, "the pages lost their forge steps"
    # A shell variable stands for a value the page computed (e.g. a service name read from `forge list`).
    bad = [f"{command!r}: {err}" for command, args in calls
           if (err := forge_error([SAMPLE_VALUE if SHELL_VARIABLE.fullmatch(a) else a for a in args]))]
    assert not bad, "\n".join(bad)


@functools.cache
def shopbox_usage() -> tuple[set[str], dict[str, range]]:
    """Options and commands (with how many arguments each takes) from `./shopbox.sh --help`."""
    text = subprocess.run([str(ROOT / "shopbox.sh"), "--help"], capture_output=True, text=True, check=True).stdout
    options = {"--help", "-h", *re.findall(r"^  (--[a-z-]+)  ", text.split("Options:")[1], re.M)}
    commands: dict[str, range] = {}
    for name, params in re.findall(r"^  ([a-z]+)((?: \[?[A-Z]+\]?)*)\s", text.split("Commands:")[1], re.M):
        words = params.split()
        required = sum(1 for w in words if not w.startswith("["))
        commands[name] = range(required, len(words) + 1)
    return options, commands


def shopbox_error(args: list[str]) -> str | None:
    options, commands = shopbox_usage()
    unknown = [a for a in args if a.startswith("-") and a not in options]
    words = [a for a in args if not a.startswith("-")]
    if unknown:
        return f"unknown option {unknown[0]}"
    if words and words[0] not in commands:
        return f"unknown command {words[0]}"
    if words and len(words) - 1 not in commands[words[0]]:
        return f"{words[0]}: wrong number of arguments"
    return None


def test_shopbox_help_is_understood() -> None:
    assert shopbox_error([]) is None
    assert shopbox_error(["--no-cluster"]) is None
    assert shopbox_error(["doctor"]) is None
    assert shopbox_error(["prefetch"]) is None
    assert shopbox_error(["prefetch", "b.tar"]) is None
    assert shopbox_error(["load", "b.tar"]) is None
    assert shopbox_error(["load"]) == "load: wrong number of arguments"
    assert shopbox_error(["doctor", "x"]) == "doctor: wrong number of arguments"
    assert shopbox_error(["up"]) == "unknown command up"
    assert shopbox_error(["--force"]) == "unknown option --force"


def test_every_shopbox_call_on_the_pages_matches_its_help() -> None:
    text = "\n".join((EXERCISES / name).read_text(encoding="utf-8") for name in PAGES)
    shown = [line[2:] for line in text.splitlines() if line.startswith("$ ./shopbox.sh")]  # console blocks too
    calls = program_calls([*all_commands(), *shown], "./shopbox.sh")
    assert calls, "the pages lost their ./shopbox.sh steps"
    bad = [f"{command!r}: {err}" for command, args in calls if (err := shopbox_error(args))]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name", PAGES)
def test_every_script_and_line_passes_shellcheck(name: str) -> None:
    """Each check, solve and reset as lab runs it (`set -euo pipefail` first), and the page's lines as one script
    in page order, as the replay's shell session sees them."""
    shellcheck = require_command("shellcheck")
    page = read(EXERCISES / name)
    scripts = {"reset": page.reset, "the page's check": page.check}
    scripts |= {f"{step.id} {kind}": getattr(step, kind) for step in page.steps for kind in ("check", "solve")}
    texts = {what: STRICT + script.text for what, script in scripts.items()}
    texts["the lines"] = "".join(f"{command}\n" for line in page.lines for command in line.replayed)
    found = {what: done.stdout for what, text in texts.items()
             if (done := subprocess.run([shellcheck, "-s", "bash", "-f", "gcc", "-"], input=text, text=True,
                                        capture_output=True, check=False)).returncode}
    assert not found, "\n".join(f"{name}, {what}:\n{out}" for what, out in found.items())


def test_no_command_names_a_namespace() -> None:
    """The participant's context (and the test's) chooses the namespace: a page naming one would escape it."""
    flags = {"-n", "--namespace", "-A", "--all-namespaces"}
    named = [command for command in all_commands()
             if any(words[0] in ("kubectl", "forge") and (set(words) & flags or any(
                 w.startswith("--namespace=") for w in words)) for words in simple_commands(command))]
    assert not named, named
