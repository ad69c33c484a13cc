"""Outputs that are true (exercises/lab/outputs.py): what a page shows a command printing is held to what a real
replay printed (exercises/outputs/, recorded by the workshop tier), volatile fields masked; the replay itself
fails when a command's output drifts from its page."""

from __future__ import annotations

from pathlib import Path

import pytest

from exercises.lab import course, recorded
from exercises.lab.outputs import drift, mask, matches

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PAGES = course.load(ROOT / "exercises")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.path.name)
def test_every_shown_output_is_what_a_real_replay_printed(page: course.Page) -> None:
    printed = recorded.load(page)
    shown = [line for line in page.lines if line.shown]
    seen: dict[str, int] = {}
    outputs = []  # (line, what the replay printed the n-th time the page runs this command)
    for line in shown:
        n = seen[line.command] = seen.get(line.command, -1) + 1
        outputs.append((line, printed.get(line.command, [])[n:n + 1]))
    missing = [f"{page.path.name}:{line.number}: {line.command}" for line, output in outputs if not output]
    assert not missing, ("no recorded output (run the workshop tier's page replay with SHOPBOX_RECORD_OUTPUTS=1):\n"
                         + "\n".join(missing))
    drifted = {f"{page.path.name}:{line.number}: {line.command}": differs for line, (output,) in outputs
               if (differs := drift(line.shown, output))}
    assert not drifted, "\n".join(f"{where}\n{diff}" for where, diff in drifted.items())


def test_volatile_fields_are_masked() -> None:
    assert mask("qotm-5d8f7c6b9-2kq8x") == mask("qotm-7c9d8b5f4-x2x7k") == "qotm-<pod>"
    assert mask('{"hostname":"3f2a1c9e8b7d"}') == '{"hostname":"<id>"}'
    assert mask("172.18.0.3:8081 in 2.012s") == "<ip> in <duration>"
    assert mask("qotm: Exited (1) 2 seconds ago") == mask("qotm: Exited (1) About a minute ago") \
        == mask("qotm: Exited (1) Less than a second ago") == "qotm: Exited (1) <age> ago"
    assert mask("image: localhost:5001/qotm@sha256:" + "a" * 64) == "image: localhost:5001/qotm@sha256:<digest>"
    assert mask("cluster.qotm.membership_total: 3") == "cluster.qotm.membership_total: 3"  # counts are not masked


def test_the_page_shows_the_whole_output_unless_it_elides() -> None:
    assert matches(["a", "b"], "a\nb\n")
    assert not matches(["a"], "a\nb\n")  # a line the page does not show
    assert not matches(["a", "b"], "a\n")  # a line that was not printed
    assert matches(["a", "...", "z"], "a\nb\nc\nz\n") and matches(["a", "...", "z"], "a\nz")
    assert matches(['{"id":...,"user":"anonymous"}'], '{"id":7,"user":"anonymous"}')
    assert not matches(['{"id":...,"user":"anonymous"}'], '{"id":7,"user":null}')
    assert matches(["  [200]\t... responses", "..."], "  [200]\t1000 responses\n")
    assert matches(["x-qotm-pod: qotm-..."], "x-qotm-pod: qotm-5d8f7c6b9-2kq8x")


def test_a_drift_is_shown_as_a_diff() -> None:
    assert drift(["cluster.qotm.membership_total: 3"], "cluster.qotm.membership_total: 3") is None
    diff = drift(["cluster.qotm.membership_total: 3"], "cluster.qotm.membership_total: 2\n")
    assert diff is not None
    assert "-cluster.qotm.membership_total: 3" in diff and "+cluster.qotm.membership_total: 2" in diff


def test_kubectls_websocket_stream_message_is_not_output_but_anything_else_is() -> None:
    shown = ['{"quote":"..."}']
    noise = "E1205 03:57:12.345678      74 websocket.go:296] Unknown stream id 1, discarding message"
    assert matches(shown, f'{noise}\n{{"quote":"hello"}}')
    assert not matches(shown, 'error: unable to upgrade connection\n{"quote":"hello"}')

