"""QOTM and the auth service as real servers on 127.0.0.1, started the way their READMEs say, in the service's
directory with settings from the environment: `gunicorn --bind 127.0.0.1:PORT qotm:app`, and
`HOST=127.0.0.1 PORT=PORT python auth.py`."""

from __future__ import annotations

import base64
import http.client
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
import requests

from tests.platform.procs import Process, running
from tests.services.apps import AUTH_DIR, QOTM_DIR

pytestmark = pytest.mark.dataplane

TOKEN = "tok-dataplane-5e2d8a"
PASSWORD = "dataplane pass: 9f1c"


def command(service: str, port: int, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """argv and environment of a server on 127.0.0.1:port."""
    if service == "auth":
        return [sys.executable, "auth.py"], {"HOST": "127.0.0.1", "PORT": str(port), **env}
    return [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", f"{service}:app"], env


def healthy(port: int) -> bool:
    return requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200


@pytest.fixture
def serve(tmp_path: Path, port_factory) -> Callable[..., AbstractContextManager[tuple[Process, str]]]:
    """serve("qotm" | "auth", **env) -> context manager of (process, base URL); the server is always stopped."""

    @contextmanager
    def start(service: str, **env: str) -> Iterator[tuple[Process, str]]:
        port = port_factory()
        directory = QOTM_DIR if service == "qotm" else AUTH_DIR
        args, environ = command(service, port, env)
        with running(args, tmp_path / f"{service}-{port}.log", ready=lambda: healthy(port), what=service,
                     env=environ, cwd=directory) as proc:
            yield proc, f"http://127.0.0.1:{port}"

    return start


def exit_of(proc: Process, timeout: float) -> int:
    return proc.popen.wait(timeout)


def test_qotm_serves_settings_from_the_environment(serve) -> None:
    with serve("qotm", QOTM_VERSION="v-dataplane", QOTM_DELAY="0.3") as (proc, url):
        started = time.perf_counter()
        body = requests.get(f"{url}/", timeout=5).json()
        assert time.perf_counter() - started >= 0.3
        assert body["version"] == "v-dataplane"
        assert requests.get(f"{url}/", headers={"x-authenticated-as": "alice"}, timeout=5).json()["user"] == "alice"
        metrics = requests.get(f"{url}/metrics", timeout=5).text
        assert 'qotm_requests_total{endpoint="/",method="GET",status="200"} 2.0' in metrics
        assert 'qotm_build_info{version="v-dataplane"} 1.0' in metrics
        assert '"GET / HTTP/1.1" 200' in proc.log.read_text()  # the access log


def test_qotm_metrics_add_up_across_threads(serve) -> None:
    """One worker process with threads: every request lands in the same counters (none lost to another worker)."""
    with serve("qotm") as (_, url):
        threads = [threading.Thread(target=lambda: [requests.get(f"{url}/health", timeout=5) for _ in range(10)])
                   for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        metrics = requests.get(f"{url}/metrics", timeout=5).text
        assert 'qotm_requests_total{endpoint="/health",method="GET",status="200"} 41.0' in metrics  # + readiness


def test_qotm_finishes_requests_in_flight_on_sigterm(serve) -> None:
    with serve("qotm", QOTM_DELAY="1") as (proc, url):
        answers: list[int] = []
        request = threading.Thread(target=lambda: answers.append(requests.get(f"{url}/", timeout=10).status_code))
        request.start()
        time.sleep(0.4)  # the request is now sleeping in the quote handler
        proc.popen.send_signal(signal.SIGTERM)  # to the master only, as Kubernetes does to PID 1
        assert exit_of(proc, 12) == 0
        request.join(5)
        assert answers == [200]


def test_qotm_crash_stops_the_whole_server_with_status_1(serve) -> None:
    with serve("qotm") as (proc, url):
        response = requests.get(f"{url}/crash", timeout=5)
        assert response.status_code == 200 and response.json()["crashing"] is True
        assert exit_of(proc, 10) == 1  # not a quietly respawned worker: the server is gone
        log = proc.log.read_text()
        assert "GET /crash: this process exits with status 1 now, on purpose" in log
        assert "exited unexpectedly (GET /crash?)" in log
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{url}/health", timeout=2)


@pytest.mark.parametrize(
    ("service", "env", "message"),
    [
        ("qotm", {"QOTM_DELAY": "slow"}, "qotm: QOTM_DELAY='slow': expected a number of seconds >= 0, like 0.5"),
        ("qotm", {"QOTM_FAIL_PERCENT": "200"},
         "qotm: QOTM_FAIL_PERCENT='200': expected a percentage from 0 to 100, like 20"),
        ("qotm", {"LOG_LEVEL": "loud"},
         "qotm: LOG_LEVEL='loud': expected one of debug, info, warning, error, critical"),
        ("auth", {"AUTH_MODE": "open"}, "auth: AUTH_MODE='open': expected allow, token or basic"),
        ("auth", {"AUTH_MODE": "token", "AUTH_TOKENS_FILE": "/no/such/file"},
         "auth: AUTH_TOKENS_FILE=/no/such/file: cannot read: No such file or directory"),
        ("auth", {"PORT": "http"}, "auth: PORT='http': expected a port number"),
    ],
)
def test_bad_settings_stop_the_server_with_one_line(port_factory, service: str, env: dict[str, str],
                                                  message: str) -> None:
    directory = QOTM_DIR if service == "qotm" else AUTH_DIR
    args, environ = command(service, port_factory(), {"PATH": "/usr/bin:/bin", **env})
    result = subprocess.run(args, cwd=directory, capture_output=True, text=True, env=environ, timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == message
    assert "Traceback" not in result.stderr


def test_auth_token_mode_and_no_credential_in_its_logs(serve, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"alice:{TOKEN}\n")
    with serve("auth", AUTH_MODE="token", AUTH_TOKENS_FILE=str(tokens)) as (proc, url):
        ok = requests.get(f"{url}/check/qotm/?access_token={TOKEN}", headers={"Authorization": f"Bearer {TOKEN}"},
                          timeout=5)
        assert ok.status_code == 200 and ok.headers["x-authenticated-as"] == "alice"
        denied = requests.post(f"{url}/check/qotm/quote/1", headers={"Authorization": f"Bearer {TOKEN}x"}, timeout=5)
        assert denied.status_code == 403 and denied.headers["x-auth-reason"] == "invalid token"
        missing = requests.get(f"{url}/check/", timeout=5)
        assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == 'Bearer realm="shopbox"'
        proc.stop()
        log = proc.log.read_text()
    assert "allow GET /qotm/ as alice" in log and "deny POST /qotm/quote/1: 403 invalid token" in log
    assert TOKEN not in log


def test_auth_basic_mode_and_no_credential_in_its_logs(serve, tmp_path: Path) -> None:
    users = tmp_path / "users"
    hashed = subprocess.run([sys.executable, "auth.py", "hash", "bob"], cwd=AUTH_DIR, input=f"{PASSWORD}\n",
                            capture_output=True, text=True, check=True, timeout=30).stdout
    users.write_text(hashed)
    header = "Basic " + base64.b64encode(f"bob:{PASSWORD}".encode()).decode()
    with serve("auth", AUTH_MODE="basic", AUTH_USERS_FILE=str(users)) as (proc, url):
        for _ in range(2):
            ok = requests.get(f"{url}/check/qotm/", headers={"Authorization": header}, timeout=5)
            assert ok.status_code == 200 and ok.headers["x-authenticated-as"] == "bob"
        wrong = "Basic " + base64.b64encode(b"bob:guess-123").decode()
        assert requests.get(f"{url}/check/qotm/", headers={"Authorization": wrong}, timeout=5).status_code == 403
        proc.stop()
        log = proc.log.read_text()
    assert "allow GET /qotm/ as bob" in log and "403 invalid user name or password" in log
    for secret in (PASSWORD, "guess-123", header.split()[1], wrong.split()[1], hashed.split(":", 1)[1].strip()):
        assert secret not in log


def test_auth_keeps_connections_alive_answers_head_without_a_body_and_stops_on_sigterm(serve) -> None:
    """What Envoy relies on: many checks on one connection, HEAD checks (a HEAD at the edge) answered with headers
    only, so the next answer on the connection is not misread; on SIGTERM the server exits 0 at once."""
    with serve("auth") as (proc, url):
        conn = http.client.HTTPConnection("127.0.0.1", int(url.rsplit(":", 1)[1]), timeout=5)
        for method in ("GET", "HEAD", "GET", "POST", "HEAD"):
            conn.request(method, "/check/qotm/")
            response = conn.getresponse()
            assert response.status == 200 and response.read() == b""
            assert response.headers["x-authenticated-as"] == "anonymous"
        conn.request("HEAD", "/nothing")
        assert conn.getresponse().read() == b""  # 404 with a body's length but no body
        conn.request("GET", "/health")
        assert json.loads(conn.getresponse().read()) == {"status": "ok"}  # same connection, read in step
        conn.close()
        started = time.monotonic()
        proc.popen.send_signal(signal.SIGTERM)
        assert exit_of(proc, 12) == 0
        assert time.monotonic() - started < 2
