"""ForgeError: the message says what is wrong, the hint how to fix it; users read both on one line."""

from __future__ import annotations

import pytest

from forge.errors import ForgeError, UsageError
from tests.forge.cli import forge

pytestmark = pytest.mark.unit


def test_the_hint_follows_the_message_in_parentheses() -> None:
    err = ForgeError("namespace shop does not exist", "details for -v", hint="create it: kubectl create namespace shop")
    assert (err.message, err.detail, err.hint) == ("namespace shop does not exist", "details for -v",
                                                   "create it: kubectl create namespace shop")
    assert str(err) == "namespace shop does not exist (create it: kubectl create namespace shop)"
    assert str(ForgeError("no hint")) == "no hint"
    assert UsageError("bad", hint="pass --x").exit_code == 2


def test_the_cli_prints_message_and_hint_as_one_error_line(monkeypatch) -> None:
    monkeypatch.delenv("FORGE_PROMETHEUS_URL", raising=False)
    result = forge("canary", "status", "qotm")
    assert result.exit_code == 2
    assert result.stderr == ("error: no Prometheus (pass --prometheus URL or set FORGE_PROMETHEUS_URL, e.g. `kubectl "
                             "port-forward svc/prometheus 9090:9090` and --prometheus http://127.0.0.1:9090)\n")
