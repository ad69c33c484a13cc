"""Fuzzing QOTM's and the auth service's request handling with hypothesis (QOTM: Flask's test client; auth: its
own HTTP handling over in-memory streams, also fed raw bytes): whatever the method, path, headers and body, no
answer is a 5xx. Bounded by a number of examples per test; the number of
requests sent is printed."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.security import generate_password_hash

from tests.services import apps

pytestmark = pytest.mark.unit

EXAMPLES = 400  # per test: about 2 s each here
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,  # no .hypothesis/ directory in the repo
                suppress_health_check=[HealthCheck.too_slow])

METHODS = st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"])
# What a WSGI server can hand the app as a header value: latin-1 text without line breaks.
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=80)
# Path segments: printable ASCII. Not starting with "/": Flask's test client (not the server) would read "//x" as a
# host name after the leading slash.
PATH_TEXT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="?#"),
                    max_size=40).filter(lambda p: not p.startswith("/"))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
BODIES = st.one_of(
    st.binary(max_size=300),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.text(max_size=600).map(lambda quote: json.dumps({"quote": quote}).encode()),
    st.dictionaries(st.sampled_from(["quote", "text", "id", "fail_percent", "delay"]), JSON_VALUES, max_size=3).map(
        lambda v: json.dumps(v).encode()),
    # nesting around the service's limit (8) and around json's recursion limit (~1000)
    st.one_of(st.integers(1, 12), st.integers(900, 5000)).map(lambda n: b'{"quote": ' + b"[" * n + b"]" * n + b"}"),
)
CONTENT_TYPES = st.sampled_from(["application/json", "application/json; charset=utf-16", "text/plain",
                                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=b", "",
                                 "a/b+json"])


@pytest.fixture
def qotm() -> Iterator[ModuleType]:
    """QOTM's module; its quotes are restored afterwards."""
    module = apps.qotm()
    original = dict(module.QUOTES)
    yield module
    module.QUOTES.clear()
    module.QUOTES.update(original)


ANY_PATH = st.one_of(st.sampled_from(["/", "/health", "/quote/1", "/quote/9", "/metrics", "/fault"]),
                     PATH_TEXT.map(lambda p: "/" + p))


@pytest.mark.parametrize("what", ["PUT /quote/1", "any request"])
def test_qotm_answers_no_input_with_a_5xx(qotm: ModuleType, what: str, report) -> None:
    statuses: dict[int, int] = {}
    methods, paths = (st.just("PUT"), st.just("/quote/1")) if what.startswith("PUT") else (METHODS, ANY_PATH)

    @FUZZ
    @given(method=methods, path=paths, body=BODIES, content_type=CONTENT_TYPES, user=HEADER_TEXT)
    def check(method: str, path: str, body: bytes, content_type: str, user: str) -> None:
        if path.rstrip("/") == "/crash":
            return  # the restart demo ends the process on purpose
        try:
            response = qotm.app.test_client().open(path, method=method, data=body, content_type=content_type,
                                                   headers={"x-authenticated-as": user})
        finally:  # a valid PUT /fault injects 503s or a delay on purpose: never into the next example
            qotm.FAIL_PERCENT, qotm.DELAY = 0.0, 0.0
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (method, path, body, response.get_data())

    check()
    assert qotm.app.test_client().get("/health").status_code == 200
    report(f"QOTM ({what}): {sum(statuses.values())} fuzzed requests, statuses {dict(sorted(statuses.items()))}")


def credentials_header() -> st.SearchStrategy[str]:
    """Authorization values: random text, each scheme with random text, base64 of random bytes or of USER:PASS."""
    scheme = st.sampled_from(["Basic", "Bearer", "basic", "BEARER", "Digest", ""])
    pair = st.tuples(st.sampled_from(["alice", "bob", "mallory", ""]), st.text(max_size=20)).map(
        lambda up: base64.b64encode(f"{up[0]}:{up[1]}".encode()).decode())
    raw = st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode())
    return st.one_of(HEADER_TEXT, st.tuples(scheme, st.one_of(HEADER_TEXT, pair, raw), st.sampled_from([" ", "  "]))
                     .map(lambda t: f"{t[0]}{t[2]}{t[1]}"))


@pytest.mark.parametrize("mode", ["allow", "token", "basic"])
def test_auth_answers_no_input_with_a_5xx(mode: str, tmp_path: Path, report) -> None:
    auth: ModuleType = apps.auth()
    credentials = tmp_path / "credentials"
    if mode == "basic":
        cheap = "pbkdf2:sha256:1000"  # the concurrency bound and cache are tested elsewhere; here: the parsing
        credentials.write_text(f"alice:{generate_password_hash('pw', method=cheap)}\n")
    else:
        credentials.write_text("alice:tok-alice\n")
    variable = "AUTH_USERS_FILE" if mode == "basic" else "AUTH_TOKENS_FILE"
    client = apps.AuthClient(auth.check_from_env({"AUTH_MODE": mode, variable: str(credentials)}))
    statuses: dict[int, int] = {}

    @FUZZ
    @given(method=METHODS, path=st.one_of(st.just("/check/qotm/"), PATH_TEXT.map(lambda p: "/check/" + p),
                                          PATH_TEXT.map(lambda p: "/" + p)),
           authorization=st.one_of(st.none(), credentials_header()), canary=HEADER_TEXT)
    def check(method: str, path: str, authorization: str | None, canary: str) -> None:
        headers = {"x-canary": canary} if authorization is None else {"Authorization": authorization,
                                                                       "x-canary": canary}
        response = client.open(path, method=method, headers=headers)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (method, path, authorization, response.data)

    check()
    report(f"auth ({mode}): {sum(statuses.values())} fuzzed requests, statuses {dict(sorted(statuses.items()))}")


REQUEST_LINES = st.one_of(
    st.binary(max_size=60),
    st.tuples(METHODS, PATH_TEXT, st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2", ""])).map(
        lambda t: f"{t[0]} /{t[1]} {t[2]}".encode()),
)
HEADER_LINES = st.lists(st.one_of(
    st.binary(max_size=60),
    st.tuples(st.sampled_from(["authorization", "content-length", "connection", "transfer-encoding", " x", "x "]),
              st.one_of(HEADER_TEXT, st.integers(-5, 10**6).map(str))).map(
        lambda t: f"{t[0]}: {t[1]}".encode("latin-1")),
), max_size=6)


def test_auth_answers_no_raw_bytes_with_a_5xx_or_a_traceback(report) -> None:
    """Whatever bytes arrive on a connection, the server answers 4xx (or a check's status) or closes it: its own
    HTTP parsing never raises."""
    auth: ModuleType = apps.auth()
    check = auth.check_from_env({"AUTH_MODE": "allow"})
    statuses: dict[str, int] = {}

    @FUZZ
    @given(request_line=REQUEST_LINES, header_lines=HEADER_LINES, tail=st.sampled_from([b"\r\n\r\n", b"\r\n", b""]),
           body=st.binary(max_size=40))
    def feed(request_line: bytes, header_lines: list[bytes], tail: bytes, body: bytes) -> None:
        written = apps.exchange(check, b"\r\n".join([request_line, *header_lines]) + tail + body)
        status = written.split(b"\r\n", 1)[0].decode("latin-1")[9:12] or "closed"  # "HTTP/1.1 400 ..."
        statuses[status] = statuses.get(status, 0) + 1
        assert not status.startswith("5"), (request_line, header_lines, written)

    feed()
    report(f"auth raw bytes: {sum(statuses.values())} fuzzed connections, "
           f"first answers {dict(sorted(statuses.items()))}")
