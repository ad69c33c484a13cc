"""QOTM's endpoints through Flask's test client: answers, every bad input, metrics, the delay and the crash."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from tests.services import apps

pytestmark = pytest.mark.unit

QUOTE_RULE = "/quote/<int:quote_id>"


@pytest.fixture(scope="module")
def qotm() -> ModuleType:
    return apps.qotm()


@pytest.fixture
def client(qotm: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    """A test client with version "v-test", no delay, and the original quotes restored afterwards."""
    monkeypatch.setattr(qotm, "VERSION", "v-test")
    monkeypatch.setattr(qotm, "DELAY", 0.0)
    original = dict(qotm.QUOTES)
    yield qotm.app.test_client()
    qotm.QUOTES.clear()
    qotm.QUOTES.update(original)


def samples(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of GET /metrics, keyed by (sample name, sorted labels)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for s in family.samples
    }


def sample(all_samples: dict, name: str, **labels: str) -> float:
    return all_samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --- GET / and /health ---------------------------------------------------------------------------------------


def test_root_answers_a_known_quote_with_host_version_and_time(qotm: ModuleType, client: FlaskClient) -> None:
    before = datetime.now(UTC)
    response = client.get("/")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"id", "quote", "hostname", "version", "time", "user"}
    assert qotm.QUOTES[body["id"]] == body["quote"]
    assert body["hostname"] == socket.gethostname()
    assert body["version"] == "v-test"
    assert before.replace(microsecond=0) <= datetime.fromisoformat(body["time"]) <= datetime.now(UTC)
    assert body["user"] is None


def test_root_picks_quotes_at_random(client: FlaskClient) -> None:
    ids = {client.get("/").get_json()["id"] for _ in range(60)}
    assert len(ids) > 1


def test_root_names_the_user_the_edge_authenticated(client: FlaskClient) -> None:
    response = client.get("/", headers={"x-authenticated-as": "alice"})
    assert response.get_json()["user"] == "alice"


def test_every_answer_names_the_pod_in_a_header(qotm: ModuleType, client: FlaskClient) -> None:
    for path in ("/", "/health", "/quote/99", "/no-such-path"):
        assert client.get(path).headers["x-qotm-pod"] == qotm.HOSTNAME, path


def test_health(client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "version": "v-test"}


def test_delay_slows_the_quote_handler_only(qotm: ModuleType, client: FlaskClient,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qotm, "DELAY", 0.2)
    started = time.perf_counter()
    assert client.get("/").status_code == 200
    assert time.perf_counter() - started >= 0.2
    slept: list[float] = []
    monkeypatch.setattr(qotm.time, "sleep", slept.append)
    client.get("/health")
    client.get("/quote/1")
    assert slept == []
    client.get("/")
    assert slept == [0.2]


# --- /quote/<id> -------------------------------------------------------------------------------------------


def test_get_quote_by_id(qotm: ModuleType, client: FlaskClient) -> None:
    response = client.get("/quote/3")
    assert response.status_code == 200
    assert response.get_json() == {"id": 3, "quote": qotm.QUOTES[3]}


@pytest.mark.parametrize("path", ["/quote/999", "/quote/0"])
def test_get_unknown_quote_is_404_json(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json() == {"error": f"no quote with id {path.rsplit('/', 1)[1]}"}


@pytest.mark.parametrize("path", ["/quote/abc", "/quote/-1", "/quote/1.5", "/quote/", "/nope"])
def test_paths_that_match_no_route_are_404_json(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json() == {"error": f"Not Found: GET {path}"}


@pytest.mark.parametrize(("method", "path"), [("POST", "/quote/1"), ("DELETE", "/quote/1"), ("POST", "/"),
                                              ("PUT", "/health")])
def test_wrong_method_is_405_json(client: FlaskClient, method: str, path: str) -> None:
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert response.get_json() == {"error": f"Method Not Allowed: {method} {path}"}


def test_put_replaces_a_quote(client: FlaskClient) -> None:
    response = client.put("/quote/2", json={"quote": "  Canaries sing before the mine falls silent.  "})
    assert response.status_code == 200
    assert response.get_json() == {"id": 2, "quote": "Canaries sing before the mine falls silent."}
    assert client.get("/quote/2").get_json()["quote"] == "Canaries sing before the mine falls silent."


def test_put_accepts_a_json_body_without_a_json_content_type(client: FlaskClient) -> None:
    # `curl -d '{"quote": "..."}'` sends application/x-www-form-urlencoded
    response = client.put("/quote/2", data='{"quote": "from curl"}', content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert client.get("/quote/2").get_json()["quote"] == "from curl"


def test_put_accepts_exactly_the_maximum_length(qotm: ModuleType, client: FlaskClient) -> None:
    quote = "q" * qotm.MAX_QUOTE_LENGTH
    assert client.put("/quote/1", json={"quote": quote}).status_code == 200
    assert client.get("/quote/1").get_json()["quote"] == quote


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", 'request body is not valid JSON; send {"quote": "..."}'),
        (b'{"quote": ', 'request body is not valid JSON; send {"quote": "..."}'),
        (b"quote=hello", 'request body is not valid JSON; send {"quote": "..."}'),
        (b'{"quote": "\xff\xfe"}', 'request body is not valid JSON; send {"quote": "..."}'),
        (b'["a quote"]', 'request body must be a JSON object: {"quote": "..."}'),
        (b'"a quote"', 'request body must be a JSON object: {"quote": "..."}'),
        (b"null", 'request body must be a JSON object: {"quote": "..."}'),
        (b"{}", "missing field 'quote'"),
        (b'{"text": "a quote"}', "unknown field 'text'; only 'quote' is accepted"),
        (b'{"quote": "ok", "author": "me"}', "unknown field 'author'; only 'quote' is accepted"),
        (b'{"quote": 42}', "field 'quote' must be a string, not int"),
        (b'{"quote": null}', "field 'quote' must be a string, not NoneType"),
        (b'{"quote": ["a"]}', "field 'quote' must be a string, not list"),
        (b'{"quote": {"text": "a"}}', "field 'quote' must be a string, not dict"),
        (b'{"quote": true}', "field 'quote' must be a string, not bool"),
        (b'{"quote": ""}', "field 'quote' must not be empty"),
        (b'{"quote": " \\n\\t "}', "field 'quote' must not be empty"),
        (json.dumps({"quote": "x" * 501}).encode(), "field 'quote' is 501 characters long; the limit is 500"),
    ],
)
def test_put_bad_input_is_400_json_and_changes_nothing(qotm: ModuleType, client: FlaskClient, body: bytes,
                                                       message: str) -> None:
    before = dict(qotm.QUOTES)
    response = client.put("/quote/1", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {"error": message}
    assert before == qotm.QUOTES


@pytest.mark.parametrize("body", [b'{"quote": "fine"}', b"not json"])
def test_put_unknown_id_is_404_and_creates_nothing(qotm: ModuleType, client: FlaskClient, body: bytes) -> None:
    before = dict(qotm.QUOTES)
    response = client.put("/quote/77", data=body, content_type="application/json")
    assert response.status_code == 404
    assert response.get_json() == {"error": "no quote with id 77"}
    assert before == qotm.QUOTES


def test_put_oversized_body_is_413_json(qotm: ModuleType, client: FlaskClient) -> None:
    before = dict(qotm.QUOTES)
    response = client.put("/quote/1", data=b'{"quote": "' + b"x" * 20_000 + b'"}', content_type="application/json")
    assert response.status_code == 413
    assert response.get_json() == {"error": "Request Entity Too Large: PUT /quote/1"}
    assert before == qotm.QUOTES


# --- /crash ------------------------------------------------------------------------------------------------


def test_crash_answers_then_exits_the_process_with_status_1(qotm: ModuleType, client: FlaskClient,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[int] = []
    monkeypatch.setattr(qotm.os, "_exit", exits.append)
    response = client.get("/crash")
    assert response.status_code == 200
    assert response.get_json() == {"crashing": True, "hostname": socket.gethostname(), "version": "v-test"}
    response.close()  # the server closes the response once it is sent: only then does the process end
    assert exits == [1]


# --- /metrics ----------------------------------------------------------------------------------------------


def test_metrics_count_requests_by_endpoint_method_and_status(client: FlaskClient) -> None:
    before = samples(client)
    for _ in range(3):
        client.get("/")
    client.get("/quote/999")
    client.put("/quote/1", data=b"{}", content_type="application/json")
    client.get("/no/such/path")
    after = samples(client)

    def delta(**labels: str) -> float:
        return sample(after, "qotm_requests_total", **labels) - sample(before, "qotm_requests_total", **labels)

    assert delta(endpoint="/", method="GET", status="200") == 3
    assert delta(endpoint=QUOTE_RULE, method="GET", status="404") == 1
    assert delta(endpoint=QUOTE_RULE, method="PUT", status="400") == 1
    assert delta(endpoint="unmatched", method="GET", status="404") == 1
    assert delta(endpoint=QUOTE_RULE, method="GET", status="200") == 0
    # the route pattern, never the raw path: no label value per id
    assert not any("/quote/999" in dict(labels).get("endpoint", "") for _, labels in after)


def test_metrics_latency_histogram_has_fine_buckets_around_half_a_second(qotm: ModuleType, client: FlaskClient,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    labels = {"endpoint": "/", "method": "GET", "status": "200"}
    before = samples(client)
    monkeypatch.setattr(qotm, "DELAY", 0.2)
    client.get("/")
    after = samples(client)
    buckets = sorted(float(dict(key)["le"]) for name, key in after
                     if name == "qotm_request_duration_seconds_bucket" and dict(key)["endpoint"] == "/")
    assert {0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 1.0} <= set(buckets)

    def delta(name: str, **extra: str) -> float:
        return sample(after, name, **labels, **extra) - sample(before, name, **labels, **extra)

    assert delta("qotm_request_duration_seconds_count") == 1
    assert delta("qotm_request_duration_seconds_sum") >= 0.2
    assert delta("qotm_request_duration_seconds_bucket", le="0.1") == 0  # the slow request is not below 0.1 s
    assert delta("qotm_request_duration_seconds_bucket", le="10.0") == 1


def test_metrics_name_the_running_version(client: FlaskClient, qotm: ModuleType) -> None:
    assert sample(samples(client), "qotm_build_info", version=qotm.os.environ.get("QOTM_VERSION", "dev")) == 1


# --- settings from the environment ---------------------------------------------------------------------------


NUMBERS = {  # reader -> (variable, what a bad value's message expects)
    "env_seconds": ("QOTM_DELAY", "a number of seconds >= 0, like 0.5"),
    "env_percent": ("QOTM_FAIL_PERCENT", "a percentage from 0 to 100, like 20"),
}


@pytest.mark.parametrize(("reader", "raw", "expected"), [
    ("env_seconds", None, 0.0), ("env_seconds", "0", 0.0), ("env_seconds", "0.5", 0.5), ("env_seconds", "2", 2.0),
    ("env_percent", None, 0.0), ("env_percent", "20", 20.0), ("env_percent", "100", 100.0),
    ("env_percent", "2.5", 2.5),
])
def test_env_numbers_read_a_delay_and_a_share(qotm: ModuleType, monkeypatch: pytest.MonkeyPatch, reader: str,
                                              raw: str | None, expected: float) -> None:
    name = NUMBERS[reader][0]
    if raw is None:
        monkeypatch.delenv(name, raising=False)
    else:
        monkeypatch.setenv(name, raw)
    assert getattr(qotm, reader)(name) == expected


@pytest.mark.parametrize(("reader", "raw"), [
    *(("env_seconds", raw) for raw in ("abc", "", "-0.5", "nan", "inf", "0.5s")),
    *(("env_percent", raw) for raw in ("abc", "", "-1", "101", "nan", "20%")),
])
def test_env_numbers_refuse_a_bad_value_in_one_line(qotm: ModuleType, monkeypatch: pytest.MonkeyPatch, reader: str,
                                                    raw: str) -> None:
    name, expected = NUMBERS[reader]
    monkeypatch.setenv(name, raw)
    with pytest.raises(SystemExit) as exc:
        getattr(qotm, reader)(name)
    assert str(exc.value.code) == f"qotm: {name}={raw!r}: expected {expected}"


@pytest.mark.parametrize(("raw", "expected"), [(None, "INFO"), ("debug", "DEBUG"), (" Warning ", "WARNING")])
def test_env_log_level(qotm: ModuleType, monkeypatch: pytest.MonkeyPatch, raw: str | None, expected: str) -> None:
    if raw is None:
        monkeypatch.delenv("LOG_LEVEL", raising=False)
    else:
        monkeypatch.setenv("LOG_LEVEL", raw)
    assert qotm.env_log_level("LOG_LEVEL") == expected


@pytest.mark.parametrize("raw", ["loud", "", "10"])
def test_env_log_level_refuses_unknown_levels(qotm: ModuleType, monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("LOG_LEVEL", raw)
    with pytest.raises(SystemExit) as exc:
        qotm.env_log_level("LOG_LEVEL")
    assert str(exc.value.code) == f"qotm: LOG_LEVEL={raw!r}: expected one of debug, info, warning, error, critical"


# --- hostile bodies --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"[" * 5000, b'{"quote": ' + b"[" * 9 + b"]" * 9 + b"}", b'{"a":' * 2000])
def test_put_deeply_nested_json_is_400_before_parsing(qotm: ModuleType, client: FlaskClient, body: bytes,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[bytes] = []
    monkeypatch.setattr(qotm.json, "loads", parsed.append)
    response = client.put("/quote/1", data=body, content_type="application/json")
    assert parsed == []  # refused before json's recursive parser saw it
    monkeypatch.undo()
    assert response.status_code == 400
    assert response.get_json() == {"error": 'request body nests more than 8 levels deep; send {"quote": "..."}'}


@pytest.mark.parametrize("quote", ["[[[[[[[[[[[[[[[[", '{{{{{{{{{ \\" [[[[[[[[[['])
def test_brackets_inside_strings_do_not_count_as_nesting(client: FlaskClient, quote: str) -> None:
    response = client.put("/quote/1", json={"quote": quote})
    assert response.status_code == 200
    assert response.get_json()["quote"] == quote


@pytest.mark.parametrize("content_type", ["multipart/form-data; boundary=x", "application/xml", "image/png",
                                          "text/html; charset=utf-8"])
def test_put_with_a_content_type_that_is_not_json_is_415(qotm: ModuleType, client: FlaskClient,
                                                         content_type: str) -> None:
    before = dict(qotm.QUOTES)
    response = client.put("/quote/1", data=b'{"quote": "x"}', content_type=content_type)
    assert response.status_code == 415
    assert response.get_json() == {"error": f"content type {content_type.split(';')[0]!r} is not JSON; "
                                            'send {"quote": "..."}'}
    assert before == qotm.QUOTES


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/merge-patch+json",
                                          "text/plain", None])
def test_put_accepts_json_and_plain_content_types(client: FlaskClient, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.put("/quote/4", data=b'{"quote": "typed"}', headers=headers)
    assert response.status_code == 200


# --- faults: QOTM_FAIL_PERCENT and /fault ---------------------------------------------------------------------


@pytest.fixture
def faults(qotm: ModuleType, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The module with its faults restored after the test (PUT /fault changes module globals)."""
    monkeypatch.setattr(qotm, "FAIL_PERCENT", 0.0)
    return qotm


def test_fail_percent_answers_that_share_of_requests_503(faults: ModuleType, client: FlaskClient,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faults, "FAIL_PERCENT", 20.0)
    statuses = [client.get("/").status_code for _ in range(2000)]
    failed = statuses.count(503)
    assert set(statuses) == {200, 503}
    assert 300 <= failed <= 500, failed  # 400 expected; +-5 standard deviations
    response = next(r for r in iter(lambda: client.get("/quote/1"), None) if r.status_code == 503)
    assert response.get_json() == {"error": "injected failure: this pod fails 20% of requests (QOTM_FAIL_PERCENT)"}
    assert response.headers["x-qotm-pod"] == socket.gethostname()


def test_fail_percent_spares_health_metrics_and_fault(faults: ModuleType, client: FlaskClient,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faults, "FAIL_PERCENT", 100.0)
    assert client.get("/").status_code == 503
    assert client.post("/").status_code == 503  # any method: a POST is failed too (and the edge never retries it)
    for path in ("/health", "/metrics", "/fault"):
        assert all(client.get(path).status_code == 200 for _ in range(20)), path
    failed = samples(client)
    assert sample(failed, "qotm_requests_total", endpoint="/", method="GET", status="503") >= 1


def test_no_faults_by_default(faults: ModuleType, client: FlaskClient) -> None:
    assert client.get("/fault").get_json() == {"fail_percent": 0.0, "delay": 0.0}
    assert all(client.get("/").status_code == 200 for _ in range(200))


def test_put_fault_changes_fail_percent_and_delay_at_run_time(faults: ModuleType, client: FlaskClient,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faults, "DELAY", 0.0)
    response = client.put("/fault", json={"fail_percent": 100})
    assert response.status_code == 200
    assert response.get_json() == {"fail_percent": 100.0, "delay": 0.0}
    assert client.get("/").status_code == 503
    assert client.put("/fault", data='{"fail_percent": 0, "delay": 0.1}').get_json() == {
        "fail_percent": 0.0, "delay": 0.1}
    started = time.perf_counter()
    assert client.get("/").status_code == 200
    assert time.perf_counter() - started >= 0.1
    assert client.get("/fault").get_json() == {"fail_percent": 0.0, "delay": 0.1}


@pytest.mark.parametrize("body", [
    b"", b"[]", b"{}", b"not json", b'{"fail_percent": "20"}', b'{"fail_percent": 101}', b'{"fail_percent": -1}',
    b'{"fail_percent": true}', b'{"fail_percent": NaN}', b'{"delay": 3601}', b'{"fail": 20}',
    b'{"fail_percent": [[[[1]]]]}', b"[" * 5000,
])
def test_put_fault_bad_input_is_400_and_changes_nothing(faults: ModuleType, client: FlaskClient,
                                                        body: bytes) -> None:
    response = client.put("/fault", data=body)
    assert response.status_code == 400
    assert "error" in response.get_json()
    assert faults.FAIL_PERCENT == 0.0 and faults.DELAY == 0.0
