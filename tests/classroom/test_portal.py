"""The class portal (classroom/portal/) through Flask's test client, over the in-memory ClassAPI
(tests/classroom/fake_api.py) with a class made by the real `class up`: the event code (required, rate-limited
when wrong), claiming a seat (free, the one on the card, the same again from the same browser, none left, one
added), the join file download, the instructor's key, the grid (stuck seats, participants' names, the page
reached), the seat page, the diagnosis and checks pages (their computation faked here; the real ones:
test_diagnose_cluster.py), and the cards. The real portal over HTTP against a real API server:
test_portal_cluster.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from classroom import checks, diagnose, progress, up
from classroom.names import seat_namespace
from classroom.portal.app import CLAIM_COOKIE, Settings, create_app
from classroom.portal.backend import AddPolicy, Backend
from classroom.ratelimit import WrongCodes
from exercises.lab import course
from tests.classroom.fake_api import FakeClassAPI

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC).replace(microsecond=0)
CODE = "k7m-2qx"
KEY = "instructor-key-0123456789"
IMAGE = "registry:2"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeLooks(Backend):
    """The real backend, but the dry run and the cluster-side checks (kubectl and forge) recorded, not run."""

    asked: list[tuple[str, str]]

    def diagnose(self, seat: str, step_id: str) -> diagnose.Diagnosis:
        self.asked.append(("diagnose", f"{seat} {step_id}"))
        found = diagnose.Diagnosis(step_id, self.seat(seat).namespace)
        found.objects.append(diagnose.ObjectDiff("Deployment", "qotm", "differs",
                                                 "--- seat\n+++ solve\n-  replicas: 1\n+  replicas: 3\n"))
        found.skipped.append("kubectl rollout status deployment/qotm (a wait)")
        return found

    def cluster_checks(self, seat: str, number: int) -> list[checks.StepCheck]:
        self.asked.append(("checks", f"{seat} {number}"))
        return [checks.StepCheck(f"{number}.1", "one", True), checks.StepCheck(f"{number}.2", "two", False, "no"),
                checks.StepCheck(f"{number}.3", "three", None, "`git` runs in the participant's shell")]


@pytest.fixture
def api(tmp_path: Path) -> FakeClassAPI:
    found = FakeClassAPI()
    found.now = NOW
    up.up(found, up.UpOptions("room", ["seat-01", "seat-02", "seat-03"], tmp_path / "join",
                              ends=NOW + timedelta(hours=3), registry_image=IMAGE), NOW, lambda _: None)
    return found


def make(api: FakeClassAPI, tmp_path: Path, clock: Clock | None = None, add: int = 0) -> tuple[FlaskClient,
                                                                                               FakeLooks]:
    backend = FakeLooks(api, "room", tmp_path / "join", ROOT, course.load(ROOT / "exercises"),
                        AddPolicy(limit=add, registry_image=IMAGE), cache_seconds=0)
    backend.asked = []
    settings = Settings("room", CODE, KEY, public_url="http://10.1.2.3:8000/",
                        wrong_codes=WrongCodes(clock=clock or Clock()))
    app = create_app(settings, backend)
    app.testing = True
    return app.test_client(), backend


def claim(client: FlaskClient, name: str, code: str | None = CODE, seat: str = "") -> tuple[int, str]:
    form = {"name": name, "seat": seat}
    if code is not None:
        form["code"] = code
    answer = client.post("/claim", data=form)
    return answer.status_code, answer.get_data(as_text=True)


def seat_of(page: str) -> str:
    found = re.search(r'<span id="seat">([^<]+)</span>', page)
    assert found, page
    return found.group(1)


def test_a_participant_claims_a_free_seat_and_downloads_its_join_file(api: FakeClassAPI, tmp_path: Path) -> None:
    client, _ = make(api, tmp_path)
    assert client.get("/").status_code == 200
    status, page = claim(client, "Ana Lovelace")
    assert status == 200
    assert seat_of(page) == "seat-01"
    assert "./shopbox.sh join ~/Downloads/seat-01.yaml" in page
    download = client.get("/join/seat-01.yaml")
    assert download.status_code == 200
    assert download.data == (tmp_path / "join" / "seat-01.yaml").read_bytes()
    assert download.headers["Content-Disposition"] == 'attachment; filename="seat-01.yaml"'
    assert client.get("/join/seat-02.yaml").status_code == 403  # not this browser's seat
    status, page = claim(client, "Ana Lovelace")  # the same browser again: the same seat
    assert (status, seat_of(page)) == (200, "seat-01")
    stored = api.find("ConfigMap", "room", "portal-claims")
    assert stored["metadata"]["labels"]["class.shopbox.io/class"] == "room"  # class down removes it
    assert "Ana Lovelace" in stored["data"]["seat-01"]


def test_another_browser_cannot_take_a_name_or_a_file_that_is_not_its(api: FakeClassAPI, tmp_path: Path) -> None:
    ana, _ = make(api, tmp_path)
    other, _ = make(api, tmp_path)
    assert seat_of(claim(ana, "Ana")[1]) == "seat-01"
    status, page = claim(other, "ana")
    assert status == 409 and "already has a seat" in page
    assert other.get("/join/seat-01.yaml").status_code == 403
    other.set_cookie(CLAIM_COOKIE, "guessed")
    assert other.get("/join/seat-01.yaml").status_code == 403


def test_the_seat_on_the_card_then_none_left_then_one_added(api: FakeClassAPI, tmp_path: Path) -> None:
    client, _ = make(api, tmp_path)
    assert seat_of(claim(client, "Bob", seat="seat-03")[1]) == "seat-03"
    status, page = claim(make(api, tmp_path)[0], "Cy", seat="seat-03")
    assert status == 409 and "seat seat-03 is taken" in page
    status, page = claim(make(api, tmp_path)[0], "Cy", seat="seat-99")
    assert status == 409 and "there is no seat" in page
    assert seat_of(claim(make(api, tmp_path)[0], "Cy")[1]) == "seat-01"
    assert seat_of(claim(make(api, tmp_path)[0], "Di")[1]) == "seat-02"
    status, page = claim(make(api, tmp_path)[0], "Ed")
    assert status == 409 and "every seat of this class is taken" in page
    adding, _ = make(api, tmp_path, add=1)
    status, page = claim(adding, "Ed")
    assert (status, seat_of(page)) == (200, "seat-04")  # made as class add makes it
    assert api.find("Namespace", "", "room-seat-04") is not None
    assert adding.get("/join/seat-04.yaml").status_code == 200


def test_no_code_is_refused_and_wrong_codes_are_rate_limited(api: FakeClassAPI, tmp_path: Path) -> None:
    clock = Clock()
    client, _ = make(api, tmp_path, clock)
    status, page = claim(client, "Ana", code=None)
    assert status == 400 and "The event code is required" in page
    assert claim(client, "Ana", code="")[0] == 400
    for _ in range(5):
        status, page = claim(client, "Ana", code="guess")
        assert status == 403 and "not this class&#39;s event code" in page
    answer = client.post("/claim", data={"code": CODE, "name": "Ana"})  # even the right code, for a while
    assert answer.status_code == 429
    assert 1 <= int(answer.headers["Retry-After"]) <= 61
    assert api.find("ConfigMap", "room", "portal-claims") is None  # nothing claimed meanwhile
    clock.now += 61
    assert claim(client, "Ana")[0] == 200
    assert claim(client, "Bo", code=CODE.upper())[0] == 200  # the code is not case-sensitive


def test_the_instructor_pages_need_the_key(api: FakeClassAPI, tmp_path: Path) -> None:
    client, _ = make(api, tmp_path)
    for path in ("/instructor", "/instructor/grid", "/instructor/cards", "/instructor/seat/seat-01",
                 "/instructor/seat/seat-01/diagnose?step=5.2", "/instructor/seat/seat-01/checks?page=5"):
        assert client.get(path).status_code == 403, path
    assert client.get("/instructor/login?key=wrong").status_code == 403
    assert client.get(f"/instructor/login?key={KEY}").status_code == 302
    assert client.get("/instructor").status_code == 200


def record(api: FakeClassAPI, seat: str, *checks_run: tuple[str, bool]) -> None:
    data = None
    for step, ok in checks_run:
        data = progress.record(data, step, ok, NOW)
    cm = progress.configmap(seat_namespace("room", seat), data or {})
    api.put(cm)


def test_the_grid_shows_each_seat_where_it_is_and_who_is_stuck(api: FakeClassAPI, tmp_path: Path) -> None:
    client, _ = make(api, tmp_path)
    claim(make(api, tmp_path)[0], "Ana")
    record(api, "seat-01", ("5.1", True), ("5.2", False), ("5.2", False), ("5.2", False))
    record(api, "seat-02", ("4.3", True))
    api.put({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "qotm-1", "namespace": "room-seat-02"},
             "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                        "containerStatuses": [{"restartCount": 4}]}})
    client.get(f"/instructor/login?key={KEY}")
    page = client.get("/instructor").get_data(as_text=True)
    assert "refresh" in page and "/instructor/grid" in page
    rows = client.get("/instructor/grid")
    assert rows.headers["X-Stuck"] == "1"
    text = rows.get_data(as_text=True)
    one = re.search(r'<tr id="seat-seat-01" class="stuck".*?</tr>', text, re.S)
    assert one, text
    assert "Ana" in one.group(0) and "5.2 x3" in one.group(0) and "5. " in one.group(0)
    assert "/instructor/seat/seat-01/diagnose?step=5.2" in one.group(0)
    two = re.search(r'<tr id="seat-seat-02" class="".*?</tr>', text, re.S)
    assert two and "4.3" in two.group(0) and "qotm-1" in two.group(0) and "<td>4</td>" in two.group(0)
    three = re.search(r'<tr id="seat-seat-03".*?</tr>', text, re.S)
    assert three and 'data-reached=""' in three.group(0)


def test_the_seat_page_the_diagnosis_and_the_cluster_checks(api: FakeClassAPI, tmp_path: Path) -> None:
    client, backend = make(api, tmp_path)
    client.get(f"/instructor/login?key={KEY}")
    record(api, "seat-01", ("5.1", True), ("5.2", False))
    page = client.get("/instructor/seat/seat-01").get_data(as_text=True)
    assert "5.1" in page and "5.2" in page and "/instructor/seat/seat-01/checks?page=5" in page
    diff = client.get("/instructor/seat/seat-01/diagnose?step=5.2").get_data(as_text=True)
    assert 'data-kind="Deployment" data-name="qotm"' in diff
    assert '<span class="del">-  replicas: 1</span>' in diff and "room-seat-01" in diff
    assert backend.step("5.2").solve.text.splitlines()[0] in diff  # the step's solve, shown
    found = client.get("/instructor/seat/seat-01/checks?page=5").get_data(as_text=True)
    assert re.search(r'data-step="5.1">.*?passes', found, re.S) and "only in the participant's shell:" in found
    assert backend.asked == [("diagnose", "seat-01 5.2"), ("checks", "seat-01 5")]
    assert client.get("/instructor/seat/seat-01/diagnose").status_code == 400
    assert client.get("/instructor/seat/nobody/diagnose?step=5.2").status_code == 409
    assert client.get("/instructor/seat/seat-01/diagnose?step=77.1").status_code == 409


def test_release_a_claim(api: FakeClassAPI, tmp_path: Path) -> None:
    client, backend = make(api, tmp_path)
    claim(make(api, tmp_path)[0], "Ana")
    client.get(f"/instructor/login?key={KEY}")
    assert client.post("/instructor/seat/seat-01/release").status_code == 302
    assert backend.claims.read() == {}


def test_cards_name_each_seat_the_portal_and_the_code(api: FakeClassAPI, tmp_path: Path) -> None:
    client, _ = make(api, tmp_path)
    client.get(f"/instructor/login?key={KEY}")
    page = client.get("/instructor/cards").get_data(as_text=True)
    cards = re.findall(r'<div class="card" data-seat="([^"]+)">(.*?)</div>', page, re.S)
    assert [seat for seat, _ in cards] == ["seat-01", "seat-02", "seat-03"]
    assert all("http://10.1.2.3:8000/" in body and CODE in body for _, body in cards)
    assert "@media print" in page
