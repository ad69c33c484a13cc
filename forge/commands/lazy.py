"""A click group whose commands are imported when one runs, or when they are listed (`--help`, shell completion):
`forge render` imports only forge/commands/render.py. The help text stays each command's own docstring."""

from __future__ import annotations

import importlib
from typing import Any

import click

from forge.commands.options import add_global_flags, pass_down


class LazyGroup(click.Group):
    """`lazy` maps a command name to "module:attribute" of its click command."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.lazy, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, attribute = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module), attribute)
            add_global_flags(command)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None,
                                                                            list[str]]:
        """The command to run, with the options given before it (`forge --profile alice deploy`) as its defaults."""
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None and command is not None and not isinstance(command, click.Group):
            pass_down(ctx, name, command)
        return name, command, rest
