"""The `forge` command: a click group with global -v/-q, --version, one-line errors and shell completion.

Every command is listed here (COMMANDS) and imported when it runs or is listed; its help is its own docstring
(one place). Command modules are light (click only; a command imports its verb when it runs), so `forge --help`
loads no client.
"""

from __future__ import annotations

from typing import Any

import click
from click.shell_completion import get_completion_class

from forge import __version__
from forge.commands.lazy import LazyGroup
from forge.commands.options import GLOBAL_FLAGS, current_output, dns_label, global_flags
from forge.errors import ForgeError

COMPLETE_VAR = "_FORGE_COMPLETE"
# Command name -> its click command in forge/commands/ (`forge canary`'s subcommands: forge/commands/canary.py).
COMMANDS = {name: f"forge.commands.{module}:{attribute}" for name, module, attribute in (
    ("build", "build", "build_command"), ("canary", "canary", "canary_group"), ("delete", "delete", "delete_command"),
    ("deploy", "deploy", "deploy_command"), ("dev", "dev", "dev_command"), ("list", "list", "list_command"),
    ("logs", "logs", "logs_command"), ("port-forward", "port_forward", "port_forward_command"),
    ("render", "render", "render_command"), ("setup", "setup", "setup_command"), ("url", "url", "url_command"),
)}


def _report(err: ForgeError) -> None:
    current_output().error(err)
    click.get_current_context().exit(err.exit_code)


class ForgeGroup(LazyGroup):
    """The root group: turns ForgeError (and OS errors) into one line on stderr; tracebacks only for bugs, and only
    with -v. What the stages log while a command runs (a skipped service) becomes a `note:` line."""

    def invoke(self, ctx: click.Context) -> Any:
        from forge.output import forward_notes  # when a command runs: `forge --help` does without (and logging)

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


@click.group(cls=ForgeGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="forge")
@click.option(*GLOBAL_FLAGS["verbose"][0], is_flag=True, help=GLOBAL_FLAGS["verbose"][1])
@click.option(*GLOBAL_FLAGS["quiet"][0], is_flag=True, help=GLOBAL_FLAGS["quiet"][1])
@click.option("--profile", "-p", metavar="PROFILE", help="The command's --profile, given before it.")
@click.option("--canary", is_flag=True, help="The command's --canary, given before it.")
@click.option("--branch", metavar="BRANCH", help="The command's --branch, given before it.")
@click.option("-n", "--namespace", metavar="NAMESPACE", callback=dns_label, help="The command's -n, given before it.")
@click.option("--context", metavar="CONTEXT", help="The command's --context, given before it.")
@click.pass_context
def main(ctx: click.Context, verbose: bool, quiet: bool, **_passed_down: Any) -> None:
    """forge: from source to a rolled-out Kubernetes deployment in one command.

    \b
    Pipeline: discover -> version -> render -> validate -> build and push -> dry run -> apply -> prune -> wait.
    Run it in a service directory (one with a service.yaml) or at the workspace root.
    --profile, --canary, --branch, -n and --context may come before the command too (forge --profile alice deploy)
    for the commands that take them; given after it as well, the command's own wins.

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
    current_output().result(cls(main, {}, "forge", COMPLETE_VAR).source())
