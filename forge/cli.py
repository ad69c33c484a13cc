"""The `forge` command: a click group with global -v/-q, --version, one-line errors and shell completion.

Every command is registered here; its help is its own docstring (one place). Command modules are light (click
only; a command imports its verb when it runs), so `forge --help` loads no client.
"""

from __future__ import annotations

from typing import Any

import click
from click.shell_completion import get_completion_class

from forge import __version__
from forge.commands.build import build_command
from forge.commands.canary import canary_group
from forge.commands.canary_abort import abort_command
from forge.commands.canary_promote import promote_command
from forge.commands.canary_status import status_command
from forge.commands.delete import delete_command
from forge.commands.deploy import deploy_command
from forge.commands.dev import dev_command
from forge.commands.list import list_command
from forge.commands.logs import logs_command
from forge.commands.options import add_global_flags, current_output, global_flags
from forge.commands.port_forward import port_forward_command
from forge.commands.render import render_command
from forge.commands.setup import setup_command
from forge.commands.url import url_command
from forge.errors import ForgeError
from forge.output import forward_notes

COMPLETE_VAR = "_FORGE_COMPLETE"


def _report(err: ForgeError) -> None:
    current_output().error(err)
    click.get_current_context().exit(err.exit_code)


class ForgeGroup(click.Group):
    """The root group: turns ForgeError (and OS errors) into one line on stderr; tracebacks only for bugs, and only
    with -v. What the stages log while a command runs (a skipped service) becomes a `note:` line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with forward_notes(current_output):
                return super().invoke(ctx)
        except ForgeError as err:
            _report(err)
        except BrokenPipeError:
            raise  # stdout closed early (`forge render | head`): click exits quietly
        except OSError as err:
            from forge.config.workspace import display_path  # only on this path: keeps `forge --help` light

            where = f"{display_path(err.filename)}: " if err.filename else ""
            _report(ForgeError(f"{where}{err.strerror or err}"))
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as err:
            if current_output().verbose:
                raise
            _report(ForgeError(f"internal error: {type(err).__name__}: {err} (run with -v for the traceback)"))


@click.group(cls=ForgeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="forge")
@click.option("-v", "--verbose", is_flag=True, help="Show details (e.g. the full error).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the result, warnings and errors.")
@click.pass_context
def main(ctx: click.Context, verbose: bool, quiet: bool) -> None:
    """forge: from source to a rolled-out Kubernetes deployment in one command.

    \b
    Pipeline: discover -> version -> render -> validate -> build and push -> dry run -> apply -> prune -> wait.
    Run it in a service directory (one with a service.yaml) or at the workspace root.

    \b
    Shell completion (bash, zsh or fish):
      eval "$(forge completion bash)"
    """
    global_flags(ctx, verbose, quiet)


@main.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_command(shell: str) -> None:
    """Print the shell completion script for SHELL.

    \b
    Examples:
      eval "$(forge completion bash)"          # in ~/.bashrc
      forge completion fish > ~/.config/fish/completions/forge.fish
    """
    cls = get_completion_class(shell)
    assert cls is not None  # click.Choice only lets known shells through
    click.echo(cls(main, {}, "forge", COMPLETE_VAR).source())


for _command in (build_command, canary_group, delete_command, deploy_command, dev_command, list_command, logs_command,
                 port_forward_command, render_command, setup_command, url_command):
    main.add_command(_command)
for _command in (status_command, promote_command, abort_command):
    canary_group.add_command(_command)
add_global_flags(main)
