"""The `forge` command: a click group with global -v, --version, one-line errors and shell completion."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import click
from click.shell_completion import get_completion_class

from forge import __version__
from forge.commands import LazyGroup, verbose_enabled
from forge.errors import ForgeError

COMPLETE_VAR = "_FORGE_COMPLETE"

# Command name -> ("module:attribute", first paragraph of its help). Imported only when used, so `forge --help`,
# `forge render` or `forge canary status` do not pay for the Docker and Kubernetes clients. Register a new command
# by adding a line here (tests/forge/test_startup.py checks the help texts).
COMMANDS = {
    "build": ("forge.commands.build:build_command", "Build and push the images of the services under PATH (default: "
              "the current directory); deploy nothing."),
    "canary": ("forge.commands.canary:canary_group", "Canary deployments: compare with stable, promote, abort."),
    "delete": ("forge.commands.list:delete_command",
               "Delete exactly one deployment of SERVICE: the objects forge applied for it in one profile."),
    "deploy": ("forge.commands.deploy:deploy_command", "Build, push, render, validate, apply and wait for the "
               "services under PATH (default: the current directory)."),
    "dev": ("forge.commands.deploy:dev_command", "Deploy the services under PATH, stream their pods' logs, and deploy "
            "again whenever a file changes."),
    "list": ("forge.commands.list:list_command",
             "List what forge deployed in the namespace: service, profile, build name, version, readiness."),
    "logs": ("forge.commands.logs:logs_command",
             "Print the logs of every pod of SERVICE, each line prefixed with [pod] (or [pod/container])."),
    "port-forward": ("forge.commands.logs:port_forward_command",
                     "Forward a local port to SERVICE's Service (runs `kubectl port-forward` until Ctrl-C)."),
    "render": ("forge.commands.render:render_command", "Render and validate the Kubernetes manifests of the "
               "services under PATH (default: the current directory)."),
    "setup": ("forge.commands.setup:setup_command", "Check that Docker, the cluster and the registry work, then "
              "write forge.yaml."),
    "url": ("forge.commands.list:url_command", "Print a URL that reaches SERVICE from this shell."),
}


class _NoteHandler(logging.Handler):
    """forge's modules log what they skip (`log.warning`); the CLI shows each as one `note:` line on stderr.
    click.echo looks up stderr at each call, so output captured by tests (CliRunner) gets them too."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"note: {record.getMessage()}", err=True)


_forge_log = logging.getLogger("forge")
_forge_log.addHandler(_NoteHandler())
_forge_log.propagate = False


def _report(message: str, detail: str | None, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    if detail and verbose_enabled():
        click.echo(detail.rstrip("\n"), err=True)
    sys.exit(code)


class ForgeGroup(LazyGroup):
    """The root group: turns ForgeError (and OS errors) into one line on stderr; tracebacks only for bugs, and only
    with -v."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ForgeError as err:
            _report(str(err), err.detail, err.exit_code)
        except BrokenPipeError:
            raise  # stdout closed early (`forge render | head`): click exits quietly
        except OSError as err:
            from forge.config.workspace import display_path  # only on this path: keeps `forge --help` light

            where = f"{display_path(err.filename)}: " if err.filename else ""
            _report(f"{where}{err.strerror or err}", None, 1)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as err:
            if verbose_enabled():
                raise
            _report(f"internal error: {type(err).__name__}: {err} (run with -v for the traceback)", None, 1)


@click.group(cls=ForgeGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="forge")
@click.option("-v", "--verbose", is_flag=True, help="Show details (e.g. the full error).")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """forge: from source to a rolled-out Kubernetes deployment in one command.

    \b
    Pipeline: discover -> version -> render -> validate -> build and push -> dry run -> apply -> prune -> wait.
    Run it in a service directory (one with a service.yaml) or at the workspace root.

    \b
    Shell completion (bash, zsh or fish):
      eval "$(forge completion bash)"
    """
    obj = ctx.ensure_object(dict)
    obj["verbose"] = verbose or obj.get("verbose", False) or os.environ.get("FORGE_VERBOSE", "") not in ("", "0")


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

