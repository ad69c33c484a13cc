"""The exercise pages replayed as written, in the real shopbox shell against the real kind cluster: `lab reset N`,
then pages N to the last, every `$ ` line in page order in one `./shopbox.sh run -- bash` per page (a participant's
terminal: variables and background jobs carry over), each step's check failing before the step and passing after
it; checks, solves and resets run in the shell too; every output a page shows must be what its command printed
(volatile fields masked, exercises/lab/outputs.py). Nothing is skipped here; a line is replaced only where its page
says so (an editor, a watch) by the equivalent written next to it. With SHOPBOX_RECORD_OUTPUTS=1 it writes what
those lines printed to exercises/outputs/ (the unit tier holds the pages to those recordings).

The only difference from a participant's machine is where images come from (tests/workshop/fixtures.py): later pages
build through forge with the offline Python base (forge.yaml), page 1's plain `docker build` gets it through the
shell's BASH_ENV. Prints, per page, lines executed / total and the page's time; the times on the pages
("About N minutes") are for people, who read and type.
"""

from __future__ import annotations

import os
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from exercises.lab import course, recorded
from exercises.lab.page import Page
from exercises.lab.replay import PageReport, ReplayError, reset_and_replay, summary
from exercises.lab.shell import STRICT, Result, Session
from tests.platform.base_images import ROOT
from tests.workshop.fixtures import OFFLINE_BUILD, Workshop

pytestmark = pytest.mark.workshop

PAGES = course.load(ROOT / "exercises")
# Of every page's lines, the share run as written; the rest (an editor the participant writes in, a watch) through
# their equivalent.
MIN_SHARE = 0.85
# `lab reset 1`: the whole course from any state (the tier's earlier tests leave every service deployed). Resets
# to every later page are replayed on the local control plane (tests/exercises/test_pages_replay.py); here each
# would add its pages' minutes of sleeps and load to the tier. WORKSHOP_REPLAY_FROM=9 (a developer's quicker loop)
# starts at another page: `lab reset 9` solves pages 1-8, then page 9 is replayed; WORKSHOP_REPLAY_TO=N stops after
# page N (default: the last).
STARTS = (int(os.environ.get("WORKSHOP_REPLAY_FROM", "1")),)
LAST = next(p for p in PAGES if p.number == int(os.environ.get("WORKSHOP_REPLAY_TO", PAGES[-1].number)))


@dataclass(frozen=True)
class ScriptsInShell:
    """Checks, solves and resets each in a fresh `bash -c` (as `lab` runs them), inside one long-lived shopbox
    shell rather than a new `./shopbox.sh run` apiece: the same container image, mounts and environment, without
    ~3 s of set-up per script (a replay runs some 150 of them)."""

    shell: Session

    def __call__(self, script: str, timeout: float = 300) -> Result:
        return self.shell.run(f"bash -c {shlex.quote(STRICT + script)} < /dev/null", timeout)


EDGE_DEPLOY = re.compile(r"^(CANARY=\S+ )?forge deploy envoy-canary/envoy\b")
EDGE_ANSWERS = ('edge=$(forge url envoy); for _ in $(seq 90); do curl -s -o /dev/null -m 2 "$edge/healthz" && exit 0; '
                'sleep 1; done; exit 1')


class EdgeAfterDeploy(Session):
    """A page's shell that, after a line redeploying the edge, waits until the edge answers through its NodePort
    before the next line. On the test node kube-router admits outside traffic to a new pod only at its next firewall
    sync (kubelet's probes, from the node, pass before): the next line met a dropped SYN for up to 72 s in 2 of 4
    runs (tests/README.md). Each wait goes to the replay's log with its seconds."""

    def __init__(self, *args: Any, log: Callable[[str], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._log = log

    def run(self, line: str, timeout: float = 300) -> Result:
        done = super().run(line, timeout)
        if done.code == 0 and EDGE_DEPLOY.match(line):
            started = time.monotonic()
            waited = super().run(f"bash -c {shlex.quote(EDGE_ANSWERS)}", 150)
            self._log(f"  (test node: the edge answered {time.monotonic() - started:.1f} s after the deploy"
                      f"{'' if waited.code == 0 else ': NOT within 90 s'})")
        return done


def replay_from(ws: Workshop, start: Page, last: Page) -> tuple[float, list[PageReport]]:
    """The replay; every line it runs, with the time, goes to replay-from-N.log beside the workspace."""
    argv = ["bash", str(ws.root / "shopbox.sh"), "run", "--", "env", f"BASH_ENV={ws.root / OFFLINE_BUILD}", "bash"]
    with (ws.root.parent / f"replay-from-{start.number}.log").open("w") as log, \
            Session(ws.root, ws.env, argv) as scripts:
        def say(line: str) -> None:
            print(time.strftime("%H:%M:%S"), line, file=log, flush=True)

        return reset_and_replay(PAGES, start, ScriptsInShell(scripts),
                                lambda: EdgeAfterDeploy(ws.root, ws.env, argv, log=say),
                                can_run=lambda _: None, log=say, last=last)


@pytest.mark.timeout(3000)  # the whole course, sleeps and load included (~15 min on a quiet machine)
@pytest.mark.parametrize("start", STARTS)
def test_lab_reset_then_every_page_to_the_end_in_the_shell(workshop: Workshop, start: int, report: Any) -> None:
    workshop.ensure_cluster()
    page = next(p for p in PAGES if p.number == start)
    try:
        seconds, reports = replay_from(workshop, page, LAST)
    except ReplayError as err:  # with what the cluster looked like then: a flaky line is diagnosed from CI's output
        raise ReplayError(f"{err}\n\n{workshop.state()}") from err
    report("\n".join([f"lab reset {start} ({seconds:.0f} s), then pages {start}-{LAST.number} in the shopbox "
                      "shell on the kind cluster:", *summary(reports, skipped=True)]))
    assert [r.page.number for r in reports] == [p.number for p in PAGES[PAGES.index(page):PAGES.index(LAST) + 1]]
    if os.environ.get("SHOPBOX_RECORD_OUTPUTS") == "1":
        report("\n".join(f"recorded: {recorded.write(r.page, r.printed, ROOT)}" for r in reports))
    assert not [line for r in reports for line in r.skipped] and not [s for r in reports for s in r.unchecked]
    assert not [d for r in reports for d in r.drifted], "\n".join(d for r in reports for d in r.drifted)
    for r in reports:
        assert r.executed == r.total and r.as_written >= MIN_SHARE * r.total, r.summary()
