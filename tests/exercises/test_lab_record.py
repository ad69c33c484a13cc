"""`lab` in a classroom seat records the checks it ran in the seat's progress record (exercises/lab/record.py):
what a command's checks say, through an in-memory store; the kubectl store's commands through a fake runner;
nothing recorded (and nothing asked of kubectl) outside a seat; a record that cannot be written never changes
lab's output or exit status. The real kubectl against a real API server: tests/exercises/test_lab_record_cluster.py.
"""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from classroom import progress
from exercises.lab import record
from exercises.lab.cli import Out, main
from tests.exercises.test_lab_cli import FakeShell, page

pytestmark = pytest.mark.unit


class MemoryStore:
    """The record in memory; `conflicts` writes are refused first (as when another lab wrote in between)."""

    def __init__(self, conflicts: int = 0) -> None:
        self.data: dict[str, str] | None = None
        self.version = 0
        self.conflicts = conflicts
        self.writes = 0

    def read(self) -> tuple[dict[str, str] | None, str | None]:
        return (dict(self.data), str(self.version)) if self.data is not None else (None, None)

    def write(self, data: dict[str, str], version: str | None) -> bool:
        if self.conflicts:
            self.conflicts -= 1
            return False
        assert version == (str(self.version) if self.data is not None else None)
        self.data, self.version, self.writes = dict(data), self.version + 1, self.writes + 1
        return True

    def where(self) -> tuple[str, str, str]:
        assert self.data is not None
        return self.data["reached"], self.data["failing"], self.data["failures"]


@pytest.fixture
def pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "01-one.md").write_text(page(1, "one", ["Build", "Push"]))
    (tmp_path / "02-two.md").write_text(page(2, "two", ["Run", "Scale", "Roll"]))
    monkeypatch.setenv("LAB_PAGES", str(tmp_path))
    return tmp_path


def lab(shell: FakeShell, store: record.ProgressStore, *args: str) -> int:
    return main(list(args), run=shell, out=Out(io.StringIO(), colour=False), store=store)


def test_the_step_being_worked_on_counts_its_failures_in_a_row(pages: Path) -> None:
    shell, store = FakeShell(), MemoryStore()
    shell.facts |= {"1.2", "2.1"}
    for attempt in range(1, 4):
        assert lab(shell, store, "check") == 1
        # lab check looked ahead at 2.3 and 2.2: only 2.2, the next step, is the participant's failure
        assert store.where() == ("2.1", "2.2", str(attempt))
    checks = json.loads(store.data["checks"])  # type: ignore[index]
    assert "2.3" not in checks and checks["1.2"]["ok"] is True  # page 1's check passing counts as its last step
    shell.facts.add("2.2")
    assert lab(shell, store, "check", "2.2") == 0
    assert store.where() == ("2.2", "", "0")
    assert store.writes == 4  # one write per lab command


def test_status_records_the_next_step_not_the_pages_ahead(pages: Path) -> None:
    shell, store = FakeShell(), MemoryStore()
    shell.facts |= {"1.1"}
    assert lab(shell, store, "status") == 1
    assert store.where() == ("1.1", "1.2", "1")
    assert set(json.loads(store.data["checks"])) == {"1.1", "1.2"}  # type: ignore[index]


def test_an_explicit_check_of_a_failing_step_is_recorded(pages: Path) -> None:
    shell, store = FakeShell(), MemoryStore()
    assert lab(shell, store, "check", "2.3") == 1
    assert store.where() == ("", "2.3", "1")


def test_a_solve_records_the_steps_it_brought_to_pass(pages: Path) -> None:
    shell, store = FakeShell(), MemoryStore()
    assert lab(shell, store, "check", "1.1") == 1
    assert lab(shell, store, "solve", "1.2") == 0
    assert store.where() == ("1.2", "", "0")


def test_commands_that_run_no_check_write_nothing(pages: Path) -> None:
    store = MemoryStore()
    assert lab(FakeShell(), store, "list") == 0
    assert lab(FakeShell(), store, "check", "7") == 2  # unknown page: a usage error, no check ran
    assert store.writes == 0 and store.data is None


def test_a_concurrent_write_is_retried(pages: Path) -> None:
    store = MemoryStore(conflicts=2)
    assert lab(FakeShell(), store, "check", "1.1") == 1
    assert store.where() == ("", "1.1", "1")


def test_outside_a_seat_nothing_is_recorded_or_asked(pages: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(record.SEAT_ENV, raising=False)

    def no_kubectl(*_: object) -> None:
        raise AssertionError("kubectl called outside a seat")

    monkeypatch.setattr(record, "_run", no_kubectl)
    assert main(["check", "1.1"], run=FakeShell(), out=Out(io.StringIO(), colour=False)) == 1
    assert not record.enabled({}) and record.enabled({"SHOPBOX_SEAT": "ana"})


class FakeKubectl:
    """kubectl's answers, and the commands it was given."""

    def __init__(self, answers: list[tuple[int, str, str]]) -> None:
        self.answers = answers
        self.calls: list[tuple[list[str], str | None]] = []

    def __call__(self, argv: Sequence[str], stdin: str | None, timeout: float) -> subprocess.CompletedProcess[str]:
        self.calls.append((list(argv), stdin))
        code, out, err = self.answers.pop(0)
        return subprocess.CompletedProcess(list(argv), code, out, err)


def stored(data: dict[str, str], version: str) -> str:
    return json.dumps({"metadata": {"name": progress.NAME, "resourceVersion": version}, "data": data})


def test_kubectl_store_creates_then_replaces_at_the_version_read(pages: Path) -> None:
    kubectl = FakeKubectl([(0, "", ""), (0, "", "")])
    assert lab(FakeShell(), record.KubectlStore(run=kubectl), "check", "1.1") == 1
    (get, _), (create, body) = kubectl.calls
    assert get[2:] == ["get", "configmap", "shopbox-progress", "--ignore-not-found", "-o", "json"]
    assert get[1].startswith("--request-timeout=")
    assert create[2:] == ["create", "-f", "-"]
    sent = json.loads(body or "")
    assert sent["metadata"] == {"name": "shopbox-progress", "labels": {"class.shopbox.io/progress": "true"}}
    assert sent["data"]["failing"] == "1.1"  # no namespace: the context's (the seat's)

    kubectl = FakeKubectl([(0, stored(sent["data"], "41"), ""),
                           (1, "", 'Error from server (Conflict): the object has been modified; please apply'),
                           (0, stored(sent["data"], "42"), ""), (0, "", "")])
    assert lab(FakeShell(), record.KubectlStore(run=kubectl), "check", "1.1") == 1
    replaced = [json.loads(stdin or "") for argv, stdin in kubectl.calls if "replace" in argv]
    assert [r["metadata"]["resourceVersion"] for r in replaced] == ["41", "42"]
    assert replaced[-1]["data"]["failures"] == "2"


@pytest.mark.parametrize("answer, why", [
    ((1, "", 'Error from server (Forbidden): configmaps is forbidden: User "x" cannot list\n'),
     "Error from server (Forbidden): configmaps is forbidden"),
    ((1, "", "Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout\n"), "Unable to connect"),
])
def test_a_record_that_cannot_be_written_is_one_warning_and_changes_nothing(
        pages: Path, capsys: pytest.CaptureFixture[str], answer: tuple[int, str, str], why: str) -> None:
    out = io.StringIO()
    code = main(["check", "1.1"], run=FakeShell(), out=Out(out, colour=False),
                store=record.KubectlStore(run=FakeKubectl([answer])))
    assert code == 1
    assert out.getvalue().startswith("✗ 1.1 Build\n")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("lab: progress not recorded for the instructor (" + why)


def test_kubectl_missing_or_hanging_is_a_warning(pages: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def missing(argv: Sequence[str], stdin: str | None, timeout: float) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError(2, "No such file or directory", "kubectl")

    def hangs(argv: Sequence[str], stdin: str | None, timeout: float) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(list(argv), timeout)

    shell = FakeShell()
    shell.facts.add("1.1")
    for runner in (missing, hangs):
        assert main(["check", "1.1"], run=shell, out=Out(io.StringIO(), colour=False),
                    store=record.KubectlStore(run=runner)) == 0
    err = capsys.readouterr().err
    assert "(kubectl: [Errno 2] No such file or directory: 'kubectl')" in err
    assert "timed out after" in err
