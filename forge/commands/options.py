"""The options forge's commands share, so every command spells them the same way, and `run_context`, which turns
the global flags (-v, -q) and a command's --context, -n and --output into the run context its verb gets.

Light on purpose (click only): `forge --help` imports every command module, and they import this; YAML, schemas and
the clients are imported by the verbs, which a command imports when it runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.shell_completion import CompletionItem

from forge.cluster import DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from forge.context import Context
    from forge.output import Output

F = TypeVar("F", bound=Callable[..., Any])
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?$")


def run_context(context: str | None = None, namespace: str | None = None, *, product: bool = False,
                output: str = "text") -> Context:
    """The run context of the command being run: its target, the real backends (unless whoever called the CLI put
    others in the click context object, as tests/forge/cli.py does with the fakes), and an Output following -v, -q
    and --output (`product`: the command's stdout is its product, so its report goes to stderr)."""
    from forge.context import REAL, Context, Target  # when a command runs: `forge --help` does without
    from forge.output import Output

    flags = _root_flags()
    out = Output(product=product, json_output=output == "json", quiet=flags.get("quiet", False),
                 verbose=flags.get("verbose", False))
    flags["output"] = out  # where the stages' notes go (current_output)
    return Context(out=out, target=Target(context, namespace), backends=flags.get("backends") or REAL)


def current_output() -> Output:
    """The Output of the command being run (before its run context exists: one following -q and -v)."""
    from forge.output import Output  # when a command runs or fails: `forge --help` does without (and logging)

    flags = _root_flags()
    return flags.get("output") or Output(quiet=flags.get("quiet", False), verbose=flags.get("verbose", False))


def _root_flags() -> dict[str, Any]:
    ctx = click.get_current_context(silent=True)
    return ctx.find_root().ensure_object(dict) if ctx else {}


def _set_flag(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_root().ensure_object(dict)[str(param.name)] = True


GLOBAL_FLAGS = {
    "verbose": (["-v", "--verbose"], "Show details (e.g. the full error)."),
    "quiet": (["-q", "--quiet"], "Print only the result, warnings and errors."),
}


def global_flags(ctx: click.Context, verbose: bool, quiet: bool) -> None:
    """Record the flags given before the command (and FORGE_VERBOSE, FORGE_QUIET) for `run_context`."""
    obj = ctx.ensure_object(dict)
    obj["verbose"] = verbose or obj.get("verbose", False) or os.environ.get("FORGE_VERBOSE", "") not in ("", "0")
    obj["quiet"] = quiet or obj.get("quiet", False) or os.environ.get("FORGE_QUIET", "") not in ("", "0")


def add_global_flags(command: click.Command) -> None:
    """Give every (sub)command -v and -q, so `forge render -q` works as well as `forge -q render`."""
    for name, (flags, help_text) in GLOBAL_FLAGS.items():
        if not any(p.name == name for p in command.params):
            command.params.append(click.Option(flags, is_flag=True, expose_value=False, is_eager=True,
                                               callback=_set_flag, help=help_text))
    for sub in getattr(command, "commands", {}).values():
        add_global_flags(sub)


# Options that may come before the command as well (`forge --profile alice deploy`, `forge -n shop list`): there they
# are the defaults of the command's own; after it, the command's own wins. name -> how the user spells it.
PASSED_DOWN = {"profile": "--profile", "canary": "--canary", "branch": "--branch", "namespace": "-n/--namespace",
               "context": "--context"}


def pass_down(ctx: click.Context, name: str, command: click.Command) -> None:
    """Make the options given before the command (the root's) the defaults of `command`, about to run as `name` in
    the group of `ctx`; one it does not take is a usage error."""
    given = {key: value for key, value in ctx.find_root().params.items()
             if key in PASSED_DOWN and value not in (None, False)}
    taken = {p.name for p in command.params}
    for key in given:
        if key not in taken:
            path = " ".join(["forge", *ctx.command_path.split()[1:], name])
            raise click.UsageError(f"{PASSED_DOWN[key]} (before the command) does not apply to {path}", ctx=ctx)
    if given:
        ctx.default_map = {**(ctx.default_map or {}), name: given}


def output_option(f: F) -> F:
    """-o/--output table|json: the product as a table (default) or as one JSON document, for scripts."""
    return click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table",
                         show_default=True)(f)


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
    path = Path((ctx.params.get("paths") or [ctx.params.get("path") or "."])[0])
    try:
        for descriptor in discover(path, load_workspace(path).root).services:
            names.update(load_service(descriptor).profiles)
    except ForgeError:
        pass  # a broken service.yaml: complete what is known
    return [CompletionItem(name) for name in sorted(names) if name.startswith(incomplete)]


def path_argument(f: F) -> F:
    return click.argument("path", default=".", type=click.Path(exists=True, path_type=Path))(f)


def paths_argument(f: F) -> F:
    """[PATH|SERVICE]...: directories or service.yaml files, or names of services in the workspace (default: .);
    forge checks them (a name is looked up only when no such path exists)."""
    return click.argument("paths", nargs=-1, metavar="[PATH|SERVICE]...", type=click.Path(path_type=Path))(f)


def plan_targets(paths: Sequence[Path]) -> dict[str, Any]:
    """PlanRequest's `path` and `more` from the PATH arguments."""
    first, *more = paths or (Path("."),)
    return {"path": first, "more": tuple(more)}


def branch_option(f: F) -> F:
    return click.option(
        "--branch", metavar="BRANCH",
        help="Deploy as if from this git branch (service.yaml's `branch`, `branches` globs); default: FORGE_BRANCH, "
        "else the checked-out branch.",
    )(f)


def profile_choice(f: F) -> F:
    """--canary / --profile P (exclusive): which deployment of a service a command works on."""
    f = click.option(
        "--profile", "-p", metavar="PROFILE", callback=_check_profile, shell_complete=_complete_profiles,
        help="Profile to use (default: FORGE_PROFILE, CANARY=true -> canary, a matching `branches` glob, default). "
        "A name service.yaml does not declare deploys a separate copy <service>-<profile>.",
    )(f)
    return click.option(
        "--canary", is_flag=True, callback=_check_profile, help="Use the canary profile (same as CANARY=true)."
    )(f)


def profile_options(f: F) -> F:
    """profile_choice, --branch, and --set KEY=VALUE overrides of service.yaml values: for commands that render."""
    f = click.option(
        "--set", "overrides", multiple=True, metavar="KEY=VALUE", callback=_parse_set,
        help="Override a service.yaml value (dotted key; value parsed as YAML). Repeatable.",
    )(f)
    return profile_choice(branch_option(f))


def build_arg_option(f: F) -> F:
    return click.option(
        "--build-arg", "build_args", multiple=True, metavar="KEY=VALUE", callback=_parse_build_args,
        help="Add a Docker build arg to every container (part of the image version). Repeatable.",
    )(f)


def dns_label(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """A namespace or service name: a DNS-1123 label, as Kubernetes requires (checked before anything runs)."""
    from forge.model import DNS_LABEL  # when the option is given: `forge --help` does without

    if value is not None and not re.match(DNS_LABEL, value):
        raise click.BadParameter(f"{value!r} is not a DNS label (lowercase letters, digits and '-', at most 63 "
                                 "characters, starting and ending with a letter or digit)")
    return value


def namespace_option(f: F, help_text: str = "Kubernetes namespace (default: K8S_NAMESPACE, else forge.yaml, else "
                                            "default).") -> F:
    return click.option("-n", "--namespace", metavar="NAMESPACE", callback=dns_label, help=help_text)(f)


def service_argument(f: F) -> F:
    return click.argument("service", callback=dns_label)(f)


def _dns_labels(ctx: click.Context, param: click.Parameter, values: Sequence[str]) -> tuple[str, ...]:
    return tuple(dns_label(ctx, param, value) or "" for value in values)


def services_argument(f: F) -> F:
    """SERVICE...: one or more service names."""
    return click.argument("services", nargs=-1, required=True, metavar="SERVICE...", callback=_dns_labels)(f)


def cluster_options(f: F) -> F:
    """--context and -n/--namespace (the command receives `context` and `namespace`)."""
    f = namespace_option(f, help_text="Namespace (default: K8S_NAMESPACE, else forge.yaml's namespace, else the "
                         "context's, else default).")
    return click.option(
        "--context", metavar="CONTEXT", help="kubeconfig context (default: the current one; KUBECONFIG is honoured)."
    )(f)


def parse_duration(_ctx: click.Context | None, _param: click.Parameter | None, value: Any) -> float:
    """`300`, `90s`, `5m`, `1h`, `1m30s` -> seconds."""
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    match = _DURATION.match(text)
    if not text or not match:
        raise click.BadParameter(f"{value!r} is not a duration like 90s, 5m or 300")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise click.BadParameter(f"{value!r}: must be more than 0")
    return total


def timeout_option(f: F) -> F:
    return click.option(
        "--timeout", default=f"{DEFAULT_TIMEOUT:g}s", show_default=True, callback=parse_duration, metavar="DURATION",
        help="How long to wait for the rollout (e.g. 90s, 5m) before failing with the reasons.",
    )(f)

