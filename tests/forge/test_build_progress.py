"""forge.progress: live rows on a terminal, plain lines elsewhere, NO_COLOR and TERM=dumb honoured."""

from __future__ import annotations

import io
import re

import pytest

from forge.progress import LiveReporter, PlainReporter, reporter

pytestmark = pytest.mark.unit
COLOR = re.compile(r"\x1b\[[0-9;]*3[0-9]m|\x1b\[9[0-7]m")  # a foreground colour SGR


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def drive(out: io.StringIO) -> tuple[type, str]:
    with reporter(out) as progress:
        progress.update("reg/app:1", "building")
        progress.update("reg/app:1", 'CMD ["gunicorn", "app:app"]', step=2, total=2)
        progress.finish("reg/app:1", "built in 1.0s")
        progress.finish("reg/web:1", "parse error [line 2]", ok=False)
        kind = type(progress)
    return kind, out.getvalue()


def test_plain_lines_off_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    kind, text = drive(io.StringIO())
    assert kind is PlainReporter
    assert text == ("reg/app:1: building\n"
                    'reg/app:1: step 2/2 CMD ["gunicorn", "app:app"]\n'
                    "reg/app:1: built in 1.0s\n"
                    "reg/web:1: FAILED: parse error [line 2]\n")


def test_live_rows_on_a_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    kind, text = drive(Terminal())
    assert kind is LiveReporter
    assert "reg/app:1" in text and "built in 1.0s" in text and "2/2" in text
    assert "parse error [line 2]" in text  # text that looks like rich markup is shown as is
    assert COLOR.search(text)


def test_no_color_on_a_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("NO_COLOR", "1")
    kind, text = drive(Terminal())
    assert kind is LiveReporter
    assert "built in 1.0s" in text
    assert not COLOR.search(text)


def test_dumb_terminal_gets_plain_lines(monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    kind, text = drive(Terminal())
    assert kind is PlainReporter
    assert text.splitlines()[0] == "reg/app:1: building"
