"""The page replay (exercises/lab/replay.py) with a fake shell, and the real shell it normally drives
(exercises/lab/shell.py: a fresh bash per script, one long-lived bash per page)."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import pytest

from exercises.lab import replay as replay_module
from exercises.lab.page import parse
from exercises.lab.replay import ReplayError, replay, reset_and_replay, summary
from exercises.lab.shell import Bash, Result, Session
from tests.exercises.test_lab_cli import FakeShell

pytestmark = pytest.mark.unit

PAGE = """\
# 3. Replayed

<!-- lab reset
drop 3
-->

### 3.1 One

```bash
$ add 3.1
$ add 3.x
```

<!-- lab check
has 3.1
-->

> **Hint:** h.

<!-- lab solve
add 3.1
-->

### 3.2 Two

```bash
$ add 3.2
$ watch 3.2
```
<!-- lab replay: never ends
add 3.2w
-->

```bash
$ curl 3.9
```

<!-- lab check
has 3.2
-->

> **Hint:** h.

<!-- lab solve
add 3.2
-->

## Check

<!-- lab check
has 3.2
-->
"""


class FakeSession:
    """A Session over the FakeShell's facts; `watch` never ends, so a replay must not run it."""

    def __init__(self, shell: FakeShell) -> None:
        self.shell = shell
        self.lines: list[str] = []

    def run(self, line: str, timeout: float = 0) -> Result:
        assert not line.startswith("watch"), "an exempt line was run"
        self.lines.append(line)
        return self.shell(line)


def local(command: str) -> str | None:
    return "needs running pods" if command.startswith("curl") else None


@pytest.fixture(autouse=True)
def no_settling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay_module, "CHECK_SETTLE", 0)


def test_every_runnable_line_in_order_and_the_counts() -> None:
    shell = FakeShell()
    session = FakeSession(shell)
    report = replay(parse(PAGE, Path("03-replayed.md")), session, shell, local)
    assert session.lines == ["add 3.1", "add 3.x", "add 3.2", "add 3.2w"]
    assert (report.as_written, report.replaced, report.total) == (3, 1, 5)
    assert [(line.command, why) for line, why in report.skipped] == [("curl 3.9", "needs running pods")]
    assert [(step.id, why) for step, why in report.unchecked] == [("3.2", "some of its lines need the real cluster")]
    assert report.summary().startswith("page 3 (03-replayed.md): 4/5 lines executed (80 %; 1 through their "
                                       "written equivalent), 1 need the real cluster, ")
    # the checks ran before and after step 1, and before step 2 only
    assert [s for s in shell.scripts if s.startswith("has")] == ["has 3.1\n", "has 3.1\n", "has 3.2\n"]


def test_everything_runs_where_everything_can() -> None:
    shell = FakeShell()
    report = replay(parse(PAGE.replace("$ curl 3.9", "$ add 3.9"), Path("p.md")), FakeSession(shell), shell,
                    lambda _: None)
    assert (report.executed, report.total, report.skipped, report.unchecked) == (5, 5, [], [])


def test_a_check_that_passes_before_its_step_is_vacuous() -> None:
    shell = FakeShell()
    shell.facts.add("3.2")
    with pytest.raises(ReplayError, match=r"p.md:38: step 3.2's check passes before the step"):
        replay(parse(PAGE.replace("$ curl 3.9", "$ add 3.9"), Path("p.md")), FakeSession(shell), shell,
               lambda _: None)


def test_a_check_that_fails_after_its_step() -> None:
    shell = FakeShell()
    text = PAGE.replace("$ add 3.1\n", "$ add 3.0\n")
    with pytest.raises(ReplayError, match=r"p.md:14: step 3.1's check fails after the step\nno 3.1"):
        replay(parse(text, Path("p.md")), FakeSession(shell), shell, local)


def test_a_failing_line_names_page_line_and_output() -> None:
    shell = FakeShell()
    with pytest.raises(ReplayError, match=r"p.md:11: `has nothing` exited 1\nno nothing"):
        replay(parse(PAGE.replace("$ add 3.x", "$ has nothing"), Path("p.md")), FakeSession(shell), shell, local)


def test_a_check_that_cannot_run_here_is_reported_not_asserted() -> None:
    shell = FakeShell()
    text = PAGE.replace("<!-- lab check\nhas 3.1\n", "<!-- lab check\ncurl -sf x\n")
    report = replay(parse(text, Path("p.md")), FakeSession(shell), shell, local)
    step, why = report.unchecked[0]
    assert (step.id, why) == ("3.1", "its check: needs running pods")


def test_a_session_keeps_variables_and_jobs_and_reports_exit_codes(tmp_path: Path) -> None:
    with Session(tmp_path) as session:
        assert session.run("X=3; echo hi") == Result(0, "hi\n")
        assert session.run("echo $X; false") == Result(1, "3\n")
        assert session.run("false | true").code == 1  # pipefail: a failing curl before `| jq` fails the line
        assert session.run("sleep 30 > /dev/null &").code == 0
        assert session.run("kill %1 && echo killed") == Result(0, "killed\n")
        late = session.run("sleep 5", timeout=0.5)
        assert late.code == 124 and "timed out after" in late.output


def test_a_script_runs_strict_in_a_fresh_bash(tmp_path: Path) -> None:
    run = Bash(tmp_path)
    assert run("echo a; false; echo b") == Result(1, "a\n")
    assert run("echo $UNSET_VARIABLE_X").code == 1
    assert run("X=1").code == 0 and run("echo ${X:-none}") == Result(0, "none\n")
    assert run("sleep 5", timeout=0.5).code == 124


def test_reset_and_replay_from_a_page_to_the_last_with_a_summary() -> None:
    shell = FakeShell()
    first = parse(PAGE.replace("# 3. Replayed", "# 2. First").replace("3.", "2."), Path("02-first.md"))
    second = parse(PAGE, Path("03-replayed.md"))
    shell.facts |= {"2.2", "3.1", "3.2"}  # page 2 done, page 3 too: reset 3 must undo page 3 first
    seconds, reports = reset_and_replay([first, second], second, shell, lambda: nullcontext(FakeSession(shell)),
                                        local)
    assert seconds >= 0 and [r.page.number for r in reports] == [3]
    lines = summary(reports, skipped=True)
    assert lines[1:] == ["pages 3-3: 4/5 lines executed (80 %)",
                         "  needs the real cluster: 03-replayed.md:35: curl 3.9  (needs running pods)",
                         "  check not asserted here: step 3.2 Two (some of its lines need the real cluster)"]
    assert summary(reports, skipped=False) == lines[:2]


def test_reset_and_replay_stops_after_the_last_page_asked_for() -> None:
    shell = FakeShell()
    first = parse(PAGE.replace("# 3. Replayed", "# 2. First").replace("3.", "2."), Path("02-first.md"))
    second = parse(PAGE, Path("03-replayed.md"))
    _, reports = reset_and_replay([first, second], first, shell, lambda: nullcontext(FakeSession(shell)), local,
                                  last=first)
    assert [r.page.number for r in reports] == [2]


def test_a_failing_reset_stops_the_replay() -> None:
    shell = FakeShell()
    page = parse(PAGE.replace("<!-- lab reset\ndrop 3", "<!-- lab reset\nhas nothing"), Path("p.md"))
    with pytest.raises(ReplayError, match="lab reset 3 failed: page 3: its reset failed"):
        reset_and_replay([page], page, shell, lambda: nullcontext(FakeSession(shell)), local)


def test_an_output_the_page_shows_is_compared_and_a_drift_noted_not_fatal() -> None:
    text = PAGE.replace("$ add 3.x\n", "$ say hello\nhello\n$ say world\nhello\n$ add 3.x\n")
    shell = FakeShell()
    report = replay(parse(text, Path("03-replayed.md")), FakeSession(shell), shell, local)
    assert report.printed == {"say hello": ["hello\n"], "say world": ["world\n"]}
    (drifted,) = report.drifted  # the replay went on to the end
    assert drifted.startswith("03-replayed.md:13: `say world` printed what the page does not show")
    assert "-hello\n+world" in drifted
    assert summary([report], skipped=False)[-1] == drifted
