"""usersvc's endpoints (Flask test client) against a real PostgreSQL server and the real QOTM app."""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.mesh import apps
from tests.mesh.postgres import Postgres, postgres_server
from tests.platform.procs import free_port

pytestmark = pytest.mark.unit

ALICE = {"username": "alice", "fullname": "Alice Liddell", "email": "alice@example.com"}


@pytest.fixture(scope="module")
def pg() -> Iterator[Postgres]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def qotm_url() -> Iterator[str]:
    with apps.qotm_server() as url:
        yield url


def make_client(pg: Postgres, qotm_url: str, timeout: float = 2):
    mod = apps.usersvc()
    store = mod.Store(pg.conninfo, pool_size=2, timeout=timeout)
    app = mod.create_app(store, mod.QuoteClient(qotm_url, 2))
    return app.test_client(), store


@pytest.fixture
def client(pg: Postgres, qotm_url: str) -> Iterator[Any]:
    test_client, store = make_client(pg, qotm_url)
    assert test_client.get("/health").status_code == 200  # migrates
    pg.psql("DELETE FROM users")
    yield test_client
    store.close()


def rows(pg: Postgres) -> str:
    return pg.psql("SELECT username, fullname, email FROM users ORDER BY username")


def test_create_read_list_delete(client, pg: Postgres) -> None:
    created = client.post("/", json=ALICE)
    assert created.status_code == 201, created.json
    body = created.json
    assert {k: body[k] for k in ALICE} == ALICE
    assert isinstance(body["quote"], str) and body["quote"] and body["quote_error"] is None
    assert rows(pg) == "alice|Alice Liddell|alice@example.com"

    got = client.get("/alice")
    assert got.status_code == 200 and got.json["created"] == body["created"] and got.json["quote"]
    client.post("/", json={**ALICE, "username": "bob", "email": "bob@example.com"})
    listed = client.get("/?limit=1&offset=1").json
    assert [u["username"] for u in listed["users"]] == ["bob"] and listed["quote"]
    assert [u["username"] for u in client.get("/").json["users"]] == ["alice", "bob"]

    assert client.delete("/alice").status_code == 204
    assert client.get("/alice").status_code == 404
    assert client.delete("/alice").status_code == 404
    assert rows(pg) == "bob|Alice Liddell|bob@example.com"


def test_migrations_run_once_and_are_recorded(client, pg: Postgres) -> None:
    mod = apps.usersvc()
    versions = range(1, len(sys.modules["userstore"].MIGRATIONS) + 1)
    assert pg.psql("SELECT version FROM schema_migrations ORDER BY version").split() == [str(v) for v in versions]
    store = mod.Store(pg.conninfo, pool_size=1)
    try:
        assert store.migrate() == 0  # already applied by the fixture's app: nothing to do
    finally:
        store.close()


TOO_DEEP = b"[" * 20 + b"]" * 20

BAD_CREATES: list[tuple[str, dict[str, Any], int, str]] = [
    ("not JSON", {"data": b"{username: alice", "content_type": "application/json"}, 400, "not valid JSON"),
    ("a JSON array", {"json": [ALICE]}, 400, "must be a JSON object"),
    ("nested too deep", {"data": TOO_DEEP, "content_type": "application/json"}, 400, "nests too deep"),
    ("unknown field", {"json": {**ALICE, "admin": True}}, 400, "unknown field 'admin'"),
    ("missing username", {"json": {"fullname": "A", "email": "a@b.cd"}}, 400, "missing field 'username'"),
    ("missing email", {"json": {"username": "al", "fullname": "A"}}, 400, "missing field 'email'"),
    ("username a number", {"json": {**ALICE, "username": 7}}, 400, "must be a string, not int"),
    ("fullname null", {"json": {**ALICE, "fullname": None}}, 400, "must be a string, not NoneType"),
    ("empty username", {"json": {**ALICE, "username": ""}}, 400, "is not valid"),
    ("username too long", {"json": {**ALICE, "username": "a" * 33}}, 400, "is not valid"),
    ("username uppercase", {"json": {**ALICE, "username": "Alice"}}, 400, "is not valid"),
    ("username with a space", {"json": {**ALICE, "username": "al ice"}}, 400, "is not valid"),
    ("username non-ASCII", {"json": {**ALICE, "username": "alïce"}}, 400, "is not valid"),
    ("username reserved", {"json": {**ALICE, "username": "health"}}, 400, "is reserved"),
    ("NUL in fullname", {"json": {**ALICE, "fullname": "Al\x00ice"}}, 400, "control character"),
    ("blank fullname", {"json": {**ALICE, "fullname": "   "}}, 400, "1 to 100 characters"),
    ("fullname too long", {"json": {**ALICE, "fullname": "x" * 101}}, 400, "1 to 100 characters"),
    ("email without @", {"json": {**ALICE, "email": "alice.example.com"}}, 400, "not an e-mail address"),
    ("email too long", {"json": {**ALICE, "email": "a" * 250 + "@b.cd"}}, 400, "not an e-mail address"),
    ("XML", {"data": b"<user/>", "content_type": "application/xml"}, 415, "is not JSON"),
    ("body over 4 KiB", {"json": {**ALICE, "fullname": "x" * 5000}}, 413, "Request Entity Too Large"),
]


@pytest.mark.parametrize(("what", "request_kwargs", "status", "message"), BAD_CREATES, ids=[b[0] for b in BAD_CREATES])
def test_bad_create_is_a_clear_4xx_and_writes_nothing(client, pg: Postgres, what: str, request_kwargs: dict,
                                                      status: int, message: str) -> None:
    response = client.post("/", **request_kwargs)
    assert response.status_code == status, (what, response.data)
    assert message in response.json["error"], response.json
    assert "\n" not in response.json["error"]
    assert rows(pg) == ""


BAD_REQUESTS = [
    ("get", "/Alice", 400, "is not valid"),
    ("delete", "/al%20ice", 400, "is not valid"),
    ("get", "/?limit=0", 400, "limit='0'"),
    ("get", "/?limit=101", 400, "limit='101'"),
    ("get", "/?limit=ten", 400, "limit='ten'"),
    ("get", "/?offset=-1", 400, "offset='-1'"),
    ("get", "/?limit=%D9%A3", 400, "limit="),  # an Arabic-Indic digit: str.isdigit() alone would take it
    ("put", "/alice", 405, "Method Not Allowed"),
    ("get", "/alice/extra", 404, "Not Found"),
]


@pytest.mark.parametrize(("method", "path", "status", "message"), BAD_REQUESTS)
def test_bad_reads_and_deletes_are_clear_4xx(client, pg: Postgres, method: str, path: str, status: int,
                                             message: str) -> None:
    assert client.post("/", json=ALICE).status_code == 201
    response = getattr(client, method)(path)
    assert response.status_code == status, response.data
    assert message in response.json["error"]
    assert rows(pg) == "alice|Alice Liddell|alice@example.com"


def test_duplicate_username_is_409_and_keeps_the_first(client, pg: Postgres) -> None:
    assert client.post("/", json=ALICE).status_code == 201
    again = client.post("/", json={**ALICE, "fullname": "Someone Else"})
    assert again.status_code == 409 and again.json["error"] == "user 'alice' exists already"
    assert rows(pg) == "alice|Alice Liddell|alice@example.com"


def test_curl_style_form_body_is_read_as_json(client) -> None:
    response = client.post("/", data=json.dumps(ALICE), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201


def test_qotm_down_gives_a_degraded_answer_not_an_error(pg: Postgres) -> None:
    client, store = make_client(pg, f"http://127.0.0.1:{free_port()}/")  # nothing listens there
    try:
        pg.psql("DELETE FROM users")
        created = client.post("/", json=ALICE)
        assert created.status_code == 201
        assert created.json["quote"] is None and created.json["quote_error"].startswith("qotm unavailable")
        assert created.headers["x-usersvc-degraded"] == "qotm"
        assert client.get("/alice").status_code == 200
    finally:
        store.close()


def test_trace_headers_are_passed_on_to_qotm(monkeypatch: pytest.MonkeyPatch) -> None:
    mod = apps.usersvc()
    seen: dict[str, str] = {}

    def capture(request: urllib.request.Request, timeout: float) -> None:
        seen.update({k.lower(): v for k, v in request.header_items()})
        raise OSError("not sent")

    monkeypatch.setattr(urllib.request, "urlopen", capture)
    quote = mod.QuoteClient("http://qotm/", 1).fetch({"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01",
                                                      "x-request-id": "r1", "authorization": "secret"})
    assert quote.text is None and quote.problem == "qotm unavailable: not sent"
    assert seen["traceparent"].startswith("00-aaaa") and seen["x-request-id"] == "r1" and "authorization" not in seen


def test_readiness_fails_while_the_database_is_down_and_recovers(pg: Postgres, qotm_url: str) -> None:
    client, store = make_client(pg, qotm_url, timeout=1)
    try:
        assert client.get("/health").status_code == 200
        pg.stop()
        down = client.get("/health")
        assert down.status_code == 503 and "database unavailable" in down.json["error"]
        assert client.post("/", json=ALICE).status_code == 503
        assert client.get("/").status_code == 503
        pg.start()
        deadline = time.monotonic() + 20
        while client.get("/health").status_code != 200:
            assert time.monotonic() < deadline, "usersvc never got ready again after the database came back"
            time.sleep(0.2)
        assert client.get("/").status_code == 200
    finally:
        store.close()


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("DB_POOL_SIZE", "many", "usersvc: DB_POOL_SIZE='many': expected a number from 1 to 64"),
    ("QOTM_TIMEOUT", "0", "usersvc: QOTM_TIMEOUT='0': expected a number from 0.1 to 30"),
    ("LOG_LEVEL", "loud", "usersvc: LOG_LEVEL='loud': expected debug, info, warning, error or critical"),
])
def test_a_bad_setting_stops_with_one_line(monkeypatch: pytest.MonkeyPatch, variable: str, value: str,
                                           message: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as stopped:
        apps.usersvc().from_environment()
    assert str(stopped.value) == message
