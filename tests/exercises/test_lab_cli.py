"""`lab` (exercises/lab/cli.py, course.py) on two small pages, with a fake shell: a set of facts that check
scripts test (`has X`) and solve/reset scripts change (`add X`, `drop X`)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from exercises.lab import course
from exercises.lab.cli import Out, main
from exercises.lab.shell import Result

pytestmark = pytest.mark.unit


def page(number: int, name: str, steps: list[str]) -> str:
    """A page whose step S checks `has N.S` and solves with `add N.S`; the page is done at its last step."""
    parts = [f"# {number}. Page {name}\n\nAbout {number} minutes.\n\n<!-- lab reset\ndrop {number}\n-->\n\n## Steps\n"]
    for index, title in enumerate(steps, start=1):
        fact = f"{number}.{index}"
        parts.append(f"### {fact} {title}\n\n```bash\n$ add {fact}\n```\n\n<!-- lab check\nhas {fact}\n-->\n\n"
                     f"> **Hint:** add {fact} please.\n\n<!-- lab solve\nadd {fact}\n-->\n")
    parts.append(f"## Check\n\n<!-- lab check\nhas {number}.{len(steps)}\n-->\n")
    return "\n".join(parts)


class FakeShell:
    """Runs scripts of `has/add/drop FACT` lines (`drop N` drops every fact of page N; `say WORD` prints it)."""

    def __init__(self) -> None:
        self.facts: set[str] = set()
        self.scripts: list[str] = []

    def __call__(self, script: str, timeout: float = 0) -> Result:
        self.scripts.append(script)
        said = ""
        for line in script.splitlines():
            verb, fact = line.split()
            if verb == "has" and fact not in self.facts:
                return Result(1, f"no {fact}\n")
            if verb == "add":
                self.facts.add(fact)
            if verb == "drop":
                self.facts = {f for f in self.facts if not f.startswith(f"{fact}.")}
            if verb == "say":
                said += f"{fact}\n"
        return Result(0, said)


@pytest.fixture
def pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "01-one.md").write_text(page(1, "one", ["Build", "Push"]))
    (tmp_path / "02-two.md").write_text(page(2, "two", ["Run", "Scale", "Roll"]))
    (tmp_path / "README.md").write_text("# not a page\n")
    monkeypatch.setenv("LAB_PAGES", str(tmp_path))
    return tmp_path


def lab(shell: FakeShell, *args: str, colour: bool = False) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), run=shell, out=Out(out, colour=colour))
    return code, out.getvalue()


def test_list(pages: Path) -> None:
    code, text = lab(FakeShell(), "list")
    assert code == 0
    assert text.splitlines() == [
        "1. Page one (about 1 min, 01-one.md)", "   1.1 Build", "   1.2 Push",
        "2. Page two (about 2 min, 02-two.md)", "   2.1 Run", "   2.2 Scale", "   2.3 Roll"]
    assert lab(FakeShell(), "list", "two")[1].splitlines()[0] == "2. Page two (about 2 min, 02-two.md)"


def test_check_a_step(pages: Path) -> None:
    shell = FakeShell()
    assert lab(shell, "check", "2.2") == (1, "✗ 2.2 Scale\n  hint: add 2.2 please.\n"
                                             "  stuck? `lab solve 2.2` runs the step for you\n")
    shell.facts.add("2.2")
    assert lab(shell, "check", "2.2") == (0, "✓ 2.2 Scale\n")


def test_check_without_argument_shows_the_current_page_up_to_the_next_step(pages: Path) -> None:
    shell = FakeShell()
    shell.facts |= {"1.2", "2.1"}
    code, text = lab(shell, "check")
    assert code == 1
    assert text.splitlines()[:4] == ["2. Page two", "✓ 2.1 Run", "✗ 2.2 Scale", "  hint: add 2.2 please."]
    assert "2.3" not in text
    shell.facts |= {"2.3"}  # a later step's check passing means the earlier ones are behind the participant
    assert lab(shell, "check") == (0, "every page is done\n")
    assert lab(shell, "check", "1")[0] == 0


def test_status_and_hint(pages: Path) -> None:
    shell = FakeShell()
    shell.facts |= {"1.2", "2.1"}
    code, text = lab(shell, "status")
    assert code == 1
    assert text.splitlines() == ["1. Page one: done", "2. Page two: 1/3 steps, next: 2.2 Scale"]
    assert lab(shell, "hint") == (0, "2.2 Scale\n  hint: add 2.2 please.\n"
                                     "  stuck? `lab solve 2.2` runs the step for you\n")
    assert lab(shell, "hint", "2.3")[1].startswith("2.3 Roll\n")
    assert lab(shell, "hint", "1")[1] == "nothing left to do here: the page's check passes\n"


def test_a_page_behind_the_latest_done_one_counts_as_done(pages: Path) -> None:
    shell = FakeShell()
    shell.facts |= {"2.3"}  # page 1's end state is gone (a later page removed it): the participant is past it
    assert lab(shell, "status") == (0, "1. Page one: done\n2. Page two: done\n")
    shell.facts = {"1.2", "2.1"}
    assert lab(shell, "check")[1].startswith("2. Page two\n✓ 2.1 Run\n✗ 2.2 Scale\n")


def test_solve_runs_only_the_steps_not_done_yet(pages: Path) -> None:
    shell = FakeShell()
    shell.facts.add("2.1")
    code, text = lab(shell, "solve", "2.2")
    assert code == 0
    assert shell.facts == {"2.1", "2.2"}
    assert text.splitlines() == ["2.1 Run: done already", "2.2 Scale: solving", "add 2.2", "solved up to 2.2"]


def test_solve_shows_what_the_solve_printed(pages: Path) -> None:
    text = page(2, "two", ["Run"]).replace("<!-- lab solve\nadd 2.1", "<!-- lab solve\nadd 2.1\nsay deployed")
    (pages / "02-two.md").write_text(text)
    assert lab(FakeShell(), "solve", "2.1")[1].splitlines()[-2:] == ["deployed", "solved up to 2.1"]


def test_a_solve_that_does_not_satisfy_its_check_fails(pages: Path) -> None:
    text = page(2, "two", ["Run"]).replace("<!-- lab solve\nadd 2.1", "<!-- lab solve\nadd 9.9")
    (pages / "02-two.md").write_text(text)
    code, text = lab(FakeShell(), "solve", "2.1")
    assert code == 1
    assert "2.1: solved, but its check still fails" in text


def test_reset_undoes_this_and_later_pages_then_solves_earlier_ones(pages: Path) -> None:
    shell = FakeShell()
    shell.facts |= {"2.1", "2.3"}
    code, text = lab(shell, "reset", "2")
    assert code == 0, text
    assert shell.facts == {"1.1", "1.2"}
    assert text.splitlines()[-1] == "ready for page 2: Page two (start at step 2.1)"
    assert lab(shell, "reset", "2")[0] == 0 and shell.facts == {"1.1", "1.2"}  # idempotent
    assert lab(shell, "reset", "1")[0] == 0 and shell.facts == set()


def test_reset_solves_only_the_pages_after_the_latest_one_done(pages: Path) -> None:
    (pages / "03-three.md").write_text(page(3, "three", ["Go"]))
    shell = FakeShell()
    shell.facts |= {"2.3", "3.1"}  # page 1's end state is gone, page 2's is there: page 3 starts from here
    assert lab(shell, "reset", "3")[0] == 0
    assert shell.facts == {"2.3"}
    shell.facts = {"1.2", "3.1"}
    assert lab(shell, "reset", "3")[0] == 0
    assert shell.facts == {"1.2", "2.1", "2.2", "2.3"}


def test_reset_skips_steps_that_cannot_run_where_it_runs(pages: Path) -> None:
    pages_ = course.load(pages)
    shell = FakeShell()
    log: list[str] = []
    assert course.reset(pages_, pages_[1], shell, log.append, lambda s: "no" if s.id == "1.1" else None).code == 0
    assert shell.facts == {"1.2"}
    assert "1.1 Build: skipped here (no)" in log


@pytest.mark.parametrize("args, error", [
    (["check", "7"], "lab: no page '7'; pages: 1 (01-one), 2 (02-two)"),
    (["check", "2.4"], "lab: page 2 has no step '4'; its steps are 2.1 to 2.3 (`lab list 2`)"),
    (["solve", "three.1"], "lab: no page 'three'"),
    (["reset", "2.1"], "lab: `lab reset` takes a page, not a step: `lab reset 2`"),
])
def test_unknown_pages_and_steps_are_usage_errors(pages: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                                  error: str) -> None:
    assert lab(FakeShell(), *args)[0] == 2
    assert capsys.readouterr().err.startswith(error)


def test_a_malformed_page_is_a_usage_error_naming_it(pages: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (pages / "02-two.md").write_text(page(2, "two", ["Run"]).replace("> **Hint:**", "Hint:"))
    assert lab(FakeShell(), "list")[0] == 2
    assert capsys.readouterr().err.startswith(f"lab: {pages / '02-two.md'}:11: step 2.1 `Run` has no")


def test_bad_arguments_exit_2(pages: Path) -> None:
    assert lab(FakeShell(), "solve")[0] == 2
    assert lab(FakeShell(), "frobnicate")[0] == 2


def test_colour_only_when_asked(pages: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert lab(FakeShell(), "check", "1.1", colour=True)[1].startswith("\033[31m✗\033[0m 1.1 Build")
    monkeypatch.setenv("NO_COLOR", "1")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert Out(Terminal()).colour is False
    monkeypatch.delenv("NO_COLOR")
    assert Out(Terminal()).colour is True
    assert Out(io.StringIO()).colour is False


def test_pages_are_found_above_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "01-one.md").write_text(page(1, "one", ["Build"]))
    (tmp_path / "qotm").mkdir()
    monkeypatch.delenv("LAB_PAGES", raising=False)
    assert course.pages_dir(tmp_path / "qotm") == tmp_path / "exercises"
    monkeypatch.setenv("LAB_PAGES", "/elsewhere")
    assert course.pages_dir(tmp_path / "qotm") == Path("/elsewhere")


def test_no_pages_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LAB_PAGES", str(tmp_path))
    assert lab(FakeShell(), "status")[0] == 2
    assert capsys.readouterr().err == f"lab: {tmp_path}: no exercise pages (NN-name.md); set LAB_PAGES or cd into " \
                                      "the repository\n"
