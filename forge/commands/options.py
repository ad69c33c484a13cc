"""Options of the commands that talk to a cluster: --context, -n/--namespace, --timeout."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

from forge.commands import namespace_option
from forge.verbs.deploy import DEFAULT_TIMEOUT

F = TypeVar("F", bound=Callable[..., Any])
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?$")


def cluster_options(f: F) -> F:
    """--context and -n/--namespace (the command receives `context` and `namespace`)."""
    f = namespace_option(f, help_text="Namespace (default: forge.yaml's namespace, else the context's, else default).")
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

