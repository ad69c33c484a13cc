"""The day, as the deck and the pages describe it, holds together: each track (an agenda slide and the slides after
it) fits its slot, a lab slide's minutes are its page's, every page is on an agenda, one numbering everywhere
(module N = lab N = page N), the spine table opens every module, and nothing names a lab, step or section that
does not exist."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from exercises.lab import course
from exercises.lab.page import Page
from slides.build import DEFAULT_OUT, assemble_deck
from slides.deck import NOTE, TIMING
from slides.includes import DIRECTIVE
from slides.spine import load as load_spine

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PAGES = {page.number: page for page in course.load(ROOT / "exercises")}
PAGE_LINK = re.compile(r"\]\((?:repo:|(?:\.\./)*)exercises/(\d\d)-[\w-]+\.md\)")
MINUTES = re.compile(r"(\d+(?:\.\d+)?) min\b")


@dataclass
class Slide:
    number: int
    text: str

    @property
    def minutes(self) -> float:
        return sum(float(t) for note in NOTE.findall(self.text) for t in TIMING.findall(note))

    @property
    def module(self) -> int | None:
        """N when the slide opens module N (`# Module N: ...`)."""
        match = re.search(r"^# Module (\d+):", self.text, re.M)
        return int(match[1]) if match else None

    @property
    def lab_page(self) -> Page | None:
        """The page a lab slide shows the steps of."""
        match = re.search(r"^Lab: \[exercises/(\d\d)-", self.text, re.M)
        return PAGES[int(match[1])] if match else None

    @property
    def is_agenda(self) -> bool:
        return "<!-- _class: agenda -->" in self.text


@dataclass
class Track:
    agenda: Slide
    slides: list[Slide]  # the agenda slide and every slide up to the next agenda (the first track: from slide 1)

    def rows(self) -> list[tuple[str, float]]:
        """(first cells, minutes) of the agenda table's rows, the total row last."""
        found = []
        for line in self.agenda.text.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if line.startswith("|") and len(cells) >= 2 and (match := MINUTES.search(cells[-1])):
                found.append((" | ".join(cells[:-1]), float(match[1])))
        return found

    @property
    def slot(self) -> float:
        label, minutes = self.rows()[-1]
        assert "total" in label, f"slide {self.agenda.number}: the agenda's last row is its total"
        return minutes


def deck() -> list[Slide]:
    return [Slide(n, text) for n, text in enumerate(assemble_deck(DEFAULT_OUT).markdown.split("\n\n---\n\n"), 1)]


def tracks(slides: list[Slide]) -> list[Track]:
    starts = [i for i, slide in enumerate(slides) if slide.is_agenda]
    assert starts, "no agenda slide (<!-- _class: agenda -->)"
    bounds = [0, *starts[1:], len(slides)]
    return [Track(slides[start], slides[bounds[k]:bounds[k + 1]]) for k, start in enumerate(starts)]


def module_slides(slides: list[Slide]) -> dict[int, list[Slide]]:
    """Module N's slides: from its opener through its lab slide."""
    found: dict[int, list[Slide]] = {}
    current: int | None = None
    for slide in slides:
        current = slide.module or current
        if current is not None:
            found.setdefault(current, []).append(slide)
            if slide.lab_page is not None:
                current = None
    return found


SLIDES = deck()
TRACKS = tracks(SLIDES)


@pytest.mark.parametrize("track", TRACKS, ids=lambda t: f"agenda-slide-{t.agenda.number}")
def test_a_tracks_notes_fit_its_agenda_slot(track: Track) -> None:
    rows = track.rows()
    assert sum(minutes for _, minutes in rows[:-1]) == track.slot, "the agenda's rows do not add up to its total"
    spent = sum(slide.minutes for slide in track.slides)
    assert spent <= track.slot, f"the notes of this track add up to {spent} min, its agenda gives {track.slot}"


def test_the_core_track_is_a_half_day_like_the_original_and_the_advanced_one_another() -> None:
    core, advanced = TRACKS
    assert core.slot == 210 and any(label.startswith("Break") for label, _ in core.rows())
    assert advanced.slot <= 210 and any(label.startswith("Break") for label, _ in advanced.rows())


def test_every_page_is_on_one_agenda_under_its_own_number() -> None:
    listed: dict[int, int] = {}
    for track in TRACKS:
        for label, minutes in track.rows():
            for link in PAGE_LINK.findall(label):
                number = int(link)
                assert label.startswith(f"{number}. "), f"agenda row {label!r}: module and page numbers differ"
                assert number not in listed, f"page {number} is on two agenda rows"
                listed[number] = minutes
    assert sorted(listed) == sorted(PAGES), f"pages on no agenda: {sorted(set(PAGES) - set(listed))}"


def test_a_modules_slides_fit_its_agenda_row_and_its_lab_is_its_page() -> None:
    rows = {int(link): minutes for track in TRACKS for label, minutes in track.rows()
            for link in PAGE_LINK.findall(label)}
    modules = module_slides(SLIDES)
    assert sorted(modules) == sorted(PAGES), "a module opener (# Module N: ...) for every page"
    for number, slides in modules.items():
        labs = [slide for slide in slides if slide.lab_page is not None]
        assert [slide.lab_page.number for slide in labs] == [number], f"module {number}'s lab slide"
        assert re.search(rf"^## Lab {number}:", labs[0].text, re.M), f"slide {labs[0].number}: not titled Lab {number}"
        assert sum(slide.minutes for slide in slides) <= rows[number], f"module {number} overruns its agenda row"


@pytest.mark.parametrize("slide", [s for s in SLIDES if s.lab_page], ids=lambda s: f"slide-{s.number}")
def test_a_lab_slides_minutes_are_its_pages(slide: Slide) -> None:
    assert slide.minutes == slide.lab_page.minutes, (f"slide {slide.number}: [{slide.minutes} min], "
                                                     f"{slide.lab_page.path.name}: About {slide.lab_page.minutes}")


def test_the_spine_opens_every_module_and_closes_each_track() -> None:
    spine = load_spine(ROOT / "slides" / "spine.yaml")
    assert spine.modules == set(PAGES), "every module fills a cell of the spine"
    sources = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "slides" / "deck").glob("*.md")))
    for number in PAGES:
        assert f"<!-- spine: {number} -->" in sources
    for slide in SLIDES:
        if slide.module is not None:
            assert "<mark>" in slide.text, f"slide {slide.number} opens module {slide.module} without the spine"
    for track in TRACKS:
        assert any("<mark>" not in s.text and "self-sufficiency" in s.text for s in track.slides[-4:]), \
            f"the track of slide {track.agenda.number} ends without the whole spine (a recap)"


# --- references: a lab, step or section named anywhere must exist ---------------------------------------------

DASH = "\u2013"  # the en dash of a range: steps 1.1\u20131.6
STEP = re.compile(rf"\bsteps? (\d+)\.(\d+)(?:\s*(?:{DASH}|-|to)\s*(\d+)\.(\d+))?")
NUMBERED = re.compile(rf"\b(?:[Ll]abs?|[Ee]xercises?|[Mm]odules?|[Pp]ages?) (\d+)(?:(?: to |{DASH}|-| and )(\d+))?\b")
SECTION = re.compile(r"([\w./-]+\.md)`?\)?,? \(?\"([^\"]+)\"")
HEADING = re.compile(r"^#+ (.*)$", re.M)


def texts() -> dict[str, str]:
    """Where a reference can be: the deck as built, every page, the READMEs that describe the day."""
    found = {f"slide {slide.number}": slide.text for slide in SLIDES}
    found |= {page.path.name: page.path.read_text(encoding="utf-8") for page in PAGES.values()}
    for readme in ("exercises/README.md", "slides/README.md"):
        found[readme] = (ROOT / readme).read_text(encoding="utf-8")
    return found


def broken_references(where: str, text: str) -> list[str]:
    bad = []
    for match in STEP.finditer(text):
        page, step = int(match[1]), int(match[2])
        if page not in PAGES or step > len(PAGES[page].steps):
            bad.append(f"{where}: step {page}.{step} does not exist")
        if match[3] and (int(match[3]) != page or int(match[4]) != len(PAGES[page].steps)):
            bad.append(f"{where}: {match[0]!r}: page {page}'s steps are {page}.1 to {page}.{len(PAGES[page].steps)}")
    for match in NUMBERED.finditer(text):
        for number in filter(None, (match[1], match[2])):
            if int(number) not in PAGES:
                bad.append(f"{where}: {match[0]!r} names no lab (there are {len(PAGES)})")
    for match in SECTION.finditer(text):
        target = ROOT / match[1] if (ROOT / match[1]).is_file() else None
        if target is None:
            continue
        headings = HEADING.findall(target.read_text(encoding="utf-8"))
        section = " ".join(match[2].split())
        if not any(section in heading for heading in headings):
            bad.append(f"{where}: {match[1]} has no section {section!r}")
    return bad


def test_no_slide_page_or_readme_names_a_lab_step_or_section_that_does_not_exist() -> None:
    bad = [problem for where, text in texts().items() for problem in broken_references(where, text)]
    assert not bad, "\n".join(bad)


def test_the_reference_check_catches_what_it_is_for() -> None:
    assert broken_references("x", "see step 3.9") == ["x: step 3.9 does not exist"]
    assert broken_references("x", "in lab 11, and exercises 4 to 12") == [
        "x: 'lab 11' names no lab (there are 9)", "x: 'exercises 4 to 12' names no lab (there are 9)"]
    assert broken_references("x", 'envoy-canary/envoy/README.md ("No such knobs")') == [
        "x: envoy-canary/envoy/README.md has no section 'No such knobs'"]
    last = len(PAGES[1].steps)
    assert broken_references("x", f"steps 1.1{DASH}1.{last}") == []
    assert broken_references("x", f"steps 1.1{DASH}1.{last - 1}") != []
    assert broken_references("x", "step 3.1, exercises 4 to 6, module 9") == []


def test_the_readmes_use_the_one_numbering() -> None:
    outline = " ".join((ROOT / "slides" / "README.md").read_text(encoding="utf-8").split())
    for number, page in PAGES.items():
        item = rf"(?:^| ){number}\. (?:(?! \d\. ).)*?\(lab {number}, `{re.escape(page.path.name)}`\)"
        assert re.search(item, outline), f"slides/README.md's outline: module {number}, lab {number}, {page.path.name}"
    table = (ROOT / "exercises" / "README.md").read_text(encoding="utf-8")
    for number, page in PAGES.items():
        steps = f"{number}.1{DASH}{number}.{len(page.steps)}"
        assert f"| [`{page.path.name}`]({page.path.name}) |" in table and steps in table, (page.path.name, steps)


def test_directives_are_parsed_as_the_build_parses_them() -> None:
    assert DIRECTIVE.match("<!-- spine: 5 -->").groups() == ("spine", "5")
    assert DIRECTIVE.match("<!-- spine -->").groups() == ("spine", None)


LABS_MACHINERY = re.compile(r"<!-- lab\b|lab replay:")


def test_no_slide_shows_labs_machinery() -> None:
    """A page's checks, solves, resets and replay stand-ins stay on the page (issue 22: one reached a slide through
    an include); the lab slides list the steps' headings only."""
    found = [f"slide {slide.number}: {match[0]!r}" for slide in SLIDES for match in LABS_MACHINERY.finditer(slide.text)]
    assert not found, "\n".join(found)
    assert LABS_MACHINERY.search("```bash\n<!-- lab replay: a watch\nuntil kubectl get pods; do sleep 1; done\n-->")
    assert not LABS_MACHINERY.search("`lab check` tells you where you are, `lab solve 3.2` catches you up")
