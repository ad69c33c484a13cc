"""Options shared by forge's commands (render, deploy, ...), so every command spells them the same way, and the
lazy group that loads a command's module only when that command runs.

Light on purpose: `forge --help` imports only this module and click; YAML, schemas and the Docker and Kubernetes
clients are imported by the commands that use them.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from click.shell_completion import CompletionItem
from click.utils import make_default_short_help

from forge.model import DNS_LABEL

F = TypeVar("F", bound=Callable[..., Any])


class LazyGroup(click.Group):
    """A group whose subcommands live in other modules, imported only when one runs. `lazy` maps a name to
    ("module:attribute", the first paragraph of its help), so --help and shell completion list the commands without
    importing them (tests/forge/test_startup.py checks the texts against the commands)."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.lazy, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy:
            module, attribute = self.lazy[cmd_name][0].split(":")
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        if command is not None:
            add_verbose(command)
        return command

    def summary(self, name: str, limit: int = 45) -> str:
        if name in self.commands:
            return self.commands[name].get_short_help_str(limit)
        return make_default_short_help(self.lazy[name][1], limit)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        with formatter.section("Commands"):
            formatter.write_dl([(name, self.summary(name, limit)) for name in names])

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        commands = [CompletionItem(name, help=self.summary(name))
                    for name in self.list_commands(ctx) if name.startswith(incomplete)]
        return commands + click.Command.shell_complete(self, ctx, incomplete)


def verbose_enabled() -> bool:
    """True when -v was given anywhere on the command line."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx and (ctx.find_root().obj or {}).get("verbose"))


def _set_verbose(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_root().ensure_object(dict)["verbose"] = True


def verbose_option() -> click.Option:
    """`-v/--verbose`: show error details. The cli adds it to every command, so it works after the command too."""
    return click.Option(
        ["-v", "--verbose"], is_flag=True, expose_value=False, is_eager=True, callback=_set_verbose,
        help="Show details (e.g. the full error)."
    )


def add_verbose(command: click.Command) -> None:
    """Give every (sub)command -v, so `forge render -v` works as well as `forge -v render`."""
    if not any(p.name == "verbose" for p in command.params):
        command.params.append(verbose_option())
    for sub in getattr(command, "commands", {}).values():
        add_verbose(sub)


def _pairs(option: str, values: Sequence[str]) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{value!r}: expected KEY=VALUE", param_hint=option)
        pairs.append((key.strip(), text))
    return pairs


def _parse_set(_ctx: click.Context, _param: click.Parameter, values: Sequence[str]) -> dict[str, Any]:
    import yaml

    overrides = {}
    for key, text in _pairs("--set", values):
        try:
            overrides[key] = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as err:
            problem = getattr(err, "problem", None) or "invalid YAML"
            raise click.BadParameter(f"{key}={text}: value is not valid YAML ({problem})", param_hint="--set") from err
    return overrides


def _parse_build_args(_ctx: click.Context, _param: click.Parameter, values: Sequence[str]) -> dict[str, str]:
    return dict(_pairs("--build-arg", values))


def _check_profile(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value and ctx.params.get("profile" if param.name == "canary" else "canary"):
        raise click.UsageError("--canary and --profile cannot be used together", ctx=ctx)
    return value


def _complete_profiles(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Profile names for shell completion: the built-in ones plus those of the services under PATH (click does not
    parse PATH when it comes before the option being completed: then the current directory)."""
    from forge.config.descriptor import BUILTIN_PROFILES, load_service
    from forge.config.discover import discover
    from forge.config.workspace import load_workspace
    from forge.errors import ForgeError

    names = set(BUILTIN_PROFILES)
    path = Path(ctx.params.get("path") or ".")
    try:
        for descriptor in discover(path, load_workspace(path).root):
            names.update(load_service(descriptor).profiles)
    except ForgeError:
        pass  # a broken service.yaml: complete what is known
    return [CompletionItem(name) for name in sorted(names) if name.startswith(incomplete)]


def path_argument(f: F) -> F:
    return click.argument("path", default=".", type=click.Path(exists=True, path_type=Path))(f)


def profile_choice(f: F) -> F:
    """--canary / --profile P (exclusive): which deployment of a service a command works on."""
    f = click.option(
        "--profile", "-p", metavar="PROFILE", callback=_check_profile, shell_complete=_complete_profiles,
        help="Profile to use (default: FORGE_PROFILE, CANARY=true -> canary, a matching `branches` glob, default).",
    )(f)
    return click.option(
        "--canary", is_flag=True, callback=_check_profile, help="Use the canary profile (same as CANARY=true)."
    )(f)


def profile_options(f: F) -> F:
    """profile_choice plus --set KEY=VALUE overrides of service.yaml values: for commands that render."""
    f = click.option(
        "--set", "overrides", multiple=True, metavar="KEY=VALUE", callback=_parse_set,
        help="Override a service.yaml value (dotted key; value parsed as YAML). Repeatable.",
    )(f)
    return profile_choice(f)


def build_arg_option(f: F) -> F:
    return click.option(
        "--build-arg", "build_args", multiple=True, metavar="KEY=VALUE", callback=_parse_build_args,
        help="Add a Docker build arg to every container (part of the image version). Repeatable.",
    )(f)


def dns_label(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """A namespace or service name: a DNS-1123 label, as Kubernetes requires (checked before anything runs)."""
    if value is not None and not re.match(DNS_LABEL, value):
        raise click.BadParameter(f"{value!r} is not a DNS label (lowercase letters, digits and '-', at most 63 "
                                 "characters, starting and ending with a letter or digit)")
    return value


def namespace_option(f: F, help_text: str = "Kubernetes namespace (default: forge.yaml, else default).") -> F:
    return click.option("-n", "--namespace", metavar="NAMESPACE", callback=dns_label, help=help_text)(f)


def service_argument(f: F) -> F:
    return click.argument("service", callback=dns_label)(f)
