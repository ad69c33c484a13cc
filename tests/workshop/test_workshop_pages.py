"""The exercise pages replayed as written, in the real shopbox shell against the real kind cluster: `lab reset N`,
then pages N to the last, every `$ ` line in page order in one `./shopbox.sh run -- bash` per page (a participant's
terminal: variables and background jobs carry over), each step's check failing before the step and passing after
it; checks, solves and resets run in the shell too. Nothing is skipped here; a line is replaced only where its
page says so (an editor, a watch) by the equivalent written next to it.

The only difference from a participant's machine is where images come from (tests/workshop/fixtures.py): later pages
build through forge with the offline Python base (forge.yaml), page 1's plain `docker build` gets it through the
shell's BASH_ENV. Prints, per page, lines executed / total and the page's time; the times on the pages
("About N minutes") are for people, who read and type.
"""

from __future__ import annotations

import os
import shlex
import time
from dataclasses import dataclass
from typing import Any

import pytest

from exercises.lab import course
from exercises.lab.page import Page
from exercises.lab.replay import PageReport, reset_and_replay, summary
from exercises.lab.shell import STRICT, Result, Session
from tests.platform.base_images import ROOT
from tests.workshop.fixtures import OFFLINE_BUILD, Workshop

pytestmark = pytest.mark.workshop

PAGES = course.load(ROOT / "exercises")
MIN_SHARE = 0.90  # of every page's lines run as written; the rest (an editor, a watch) through their equivalent
# `lab reset 1`: the whole course from any state (the tier's earlier tests leave every service deployed). Resets
# to every later page are replayed on the local control plane (tests/exercises/test_pages_replay.py); here each
# would add its pages' minutes of sleeps and load to the tier. WORKSHOP_REPLAY_FROM=9 (a developer's quicker loop)
# starts at another page: `lab reset 9` solves pages 1-8, then page 9 is replayed.
STARTS = (int(os.environ.get("WORKSHOP_REPLAY_FROM", "1")),)


@dataclass(frozen=True)
class ScriptsInShell:
    """Checks, solves and resets each in a fresh `bash -c` (as `lab` runs them), inside one long-lived shopbox
    shell rather than a new `./shopbox.sh run` apiece: the same container image, mounts and environment, without
    ~3 s of set-up per script (a replay runs some 150 of them)."""

    shell: Session

    def __call__(self, script: str, timeout: float = 300) -> Result:
        return self.shell.run(f"bash -c {shlex.quote(STRICT + script)} < /dev/null", timeout)


def replay_from(ws: Workshop, start: Page) -> tuple[float, list[PageReport]]:
    """The replay; every line it runs, with the time, goes to replay-from-N.log beside the workspace."""
    argv = ["bash", str(ws.root / "shopbox.sh"), "run", "--", "env", f"BASH_ENV={ws.root / OFFLINE_BUILD}", "bash"]
    with (ws.root.parent / f"replay-from-{start.number}.log").open("w") as log, \
            Session(ws.root, ws.env, argv) as scripts:
        return reset_and_replay(PAGES, start, ScriptsInShell(scripts), lambda: Session(ws.root, ws.env, argv),
                                can_run=lambda _: None,
                                log=lambda line: print(time.strftime("%H:%M:%S"), line, file=log, flush=True))


@pytest.mark.timeout(3000)  # the whole course, sleeps and load included (~15 min on a quiet machine)
@pytest.mark.parametrize("start", STARTS)
def test_lab_reset_then_every_page_to_the_end_in_the_shell(workshop: Workshop, start: int, report: Any) -> None:
    workshop.ensure_cluster()
    page = next(p for p in PAGES if p.number == start)
    seconds, reports = replay_from(workshop, page)
    report("\n".join([f"lab reset {start} ({seconds:.0f} s), then pages {start}-{PAGES[-1].number} in the shopbox "
                      "shell on the kind cluster:", *summary(reports, skipped=True)]))
    assert [r.page.number for r in reports] == [p.number for p in PAGES[PAGES.index(page):]]
    assert not [line for r in reports for line in r.skipped] and not [s for r in reports for s in r.unchecked]
    for r in reports:
        assert r.executed == r.total and r.as_written >= MIN_SHARE * r.total, r.summary()
