"""forge.images.registry: reference parsing, HTTP vs HTTPS, credentials from Docker's config, real registries."""

from __future__ import annotations

import base64
import io
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import bcrypt
import docker
import pytest
import requests

from forge.errors import ForgeError
from forge.images.registry import MANIFEST_TYPES, Reference, Registry, is_insecure, parse_reference, registry_host
from tests.forge.conftest import ensure
from tests.platform.procs import free_port, running


@pytest.mark.unit
@pytest.mark.parametrize(("ref", "expected"), [
    ("127.0.0.1:5000/qotm:abc", Reference("127.0.0.1:5000", "qotm", "abc")),
    ("localhost:5001/team/qotm:1", Reference("localhost:5001", "team/qotm", "1")),
    ("localhost/qotm", Reference("localhost", "qotm", "latest")),
    ("docker.io/alice/qotm:2", Reference("docker.io", "alice/qotm", "2")),
    ("alice/qotm:2", Reference("docker.io", "alice/qotm", "2")),
    ("python:3.12-alpine", Reference("docker.io", "library/python", "3.12-alpine")),
    ("ghcr.io/org/app/web:v1", Reference("ghcr.io", "org/app/web", "v1")),
])
def test_parse_reference(ref, expected):
    assert parse_reference(ref) == expected


@pytest.mark.unit
@pytest.mark.parametrize(("registry", "host"), [
    ("localhost:5001", "localhost:5001"), ("docker.io/alice", "docker.io"), ("alice", "alice"),
    ("ghcr.io/org", "ghcr.io"), ("127.0.0.1:5000/team", "127.0.0.1:5000"), ("alice/team", "docker.io"),
])
def test_registry_host(registry, host):
    assert registry_host(registry) == host


@pytest.mark.unit
@pytest.mark.parametrize(("host", "insecure"), [
    ("localhost:5001", True), ("127.0.0.1:5000", True), ("127.1.2.3", True), ("[::1]:5000", True),
    ("registry.local:5000", True), ("kind-registry.local", True), ("docker.io", False), ("ghcr.io", False),
    ("10.0.0.5:5000", False), ("localhost.example.com", False),
])
def test_plain_http_only_for_local_hosts(host, insecure):
    assert is_insecure(host) is insecure
    assert Registry(host).base_url.startswith("http://" if insecure else "https://")


@pytest.mark.unit
def test_docker_hub_uses_its_api_host():
    assert Registry("docker.io").base_url == "https://registry-1.docker.io"


def docker_config(tmp_path, monkeypatch, host: str, user: str, password: str) -> None:
    """A Docker client config with credentials for `host`, as `docker login` writes it, selected by DOCKER_CONFIG."""
    config = tmp_path / "docker-config"
    config.mkdir()
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config))


class TokenRegistry(BaseHTTPRequestHandler):
    """A registry stand-in with Docker's Bearer-token flow: /token trades Basic credentials for a token."""

    user, password, token = "alice", "s3cret", "t0k3n"
    tags = {("team/qotm", "v1")}
    seen: list[tuple[str, str, str]] = []  # (method, path, Authorization)

    def log_message(self, *args):  # keep test output clean
        pass

    def _reply(self, code: int, body: dict | None = None, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body or {}).encode()
        self.send_response(code)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self) -> None:
        auth = self.headers.get("Authorization", "")
        self.seen.append((self.command, self.path, auth))
        port = self.server.server_address[1]
        if self.path.startswith("/token"):
            basic = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            scope_ok = "scope=repository%3Ateam%2Fqotm%3Apull" in self.path and "service=test-registry" in self.path
            return self._reply(200 if auth == basic and scope_ok else 401, {"token": self.token})
        if auth != f"Bearer {self.token}":
            challenge = f'Bearer realm="http://127.0.0.1:{port}/token",service="test-registry"'
            return self._reply(401, headers={"WWW-Authenticate": challenge})
        if self.headers.get("Accept") != MANIFEST_TYPES:
            return self._reply(406)
        repo, _, tag = self.path.removeprefix("/v2/").partition("/manifests/")
        return self._reply(200 if (repo, tag) in self.tags else 404)

    do_GET = do_HEAD = _handle


@contextmanager
def token_registry() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), TokenRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.unit
def test_bearer_token_flow_with_docker_credentials(tmp_path, monkeypatch):
    TokenRegistry.seen = []
    with token_registry() as host:
        docker_config(tmp_path, monkeypatch, host, TokenRegistry.user, TokenRegistry.password)
        reg = Registry(host)
        assert reg.has_manifest("team/qotm", "v1") is True
        assert reg.has_manifest("team/qotm", "v2") is False  # same scope: the cached token is reused
    token_requests = [s for s in TokenRegistry.seen if s[1].startswith("/token")]
    assert len(token_requests) == 1
    assert TokenRegistry.seen[-1] == ("HEAD", "/v2/team/qotm/manifests/v2", "Bearer t0k3n")


@pytest.mark.unit
def test_bearer_token_flow_with_wrong_credentials(tmp_path, monkeypatch):
    with token_registry() as host:
        docker_config(tmp_path, monkeypatch, host, "alice", "wrong")
        with pytest.raises(ForgeError) as err:
            Registry(host).has_manifest("team/qotm", "v1")
    assert str(err.value) == (f"registry {host}: token service refused the credentials: HTTP 401 "
                              f"(run `docker login {host}`)")
    assert err.value.hint == f"run `docker login {host}`"


@pytest.mark.unit
def test_unreachable_registry_is_one_line():
    host = f"127.0.0.1:{free_port()}"
    with pytest.raises(ForgeError) as err:
        Registry(host).ping()
    assert str(err.value) == f"registry {host} is unreachable: Connection refused"


@pytest.mark.unit
def test_unresolvable_registry_is_one_line():
    with pytest.raises(ForgeError) as err:
        Registry("registry.invalid:5000", timeout=3).ping()
    assert str(err.value).startswith("registry registry.invalid:5000 is unreachable: ")
    assert "\n" not in str(err.value)


@pytest.mark.docker
def test_has_image_against_real_registry(docker_client, registry, make_image):
    image = make_image(registry=registry.host)
    reg = Registry(registry.host)
    reg.ping()
    assert reg.has_image(image.ref) is False
    ensure([image], registry=registry.host, concurrency=1, client=docker_client, out=io.StringIO())
    assert reg.has_image(image.ref) is True
    assert reg.has_image(image.ref.rsplit(":", 1)[0] + ":other") is False


@pytest.fixture
def htpasswd_registry(tmp_path) -> Iterator[str]:
    """A real distribution registry that wants Basic auth (alice / s3cret)."""
    port = free_port()
    (tmp_path / "htpasswd").write_text("alice:" + bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode() + "\n")
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\nlog: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp_path / 'data'}}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
        f"auth: {{htpasswd: {{realm: forge-test, path: {tmp_path / 'htpasswd'}}}}}\n"
    )
    url = f"http://127.0.0.1:{port}/v2/"
    with running(["docker-registry", "serve", str(config)], tmp_path / "registry.log",
                 ready=lambda: requests.get(url, timeout=1).status_code == 401, what="htpasswd registry"):
        yield f"127.0.0.1:{port}"


@pytest.mark.docker
def test_basic_auth_from_docker_config_builds_and_pushes(tmp_path, monkeypatch, htpasswd_registry, make_image):
    docker_config(tmp_path, monkeypatch, htpasswd_registry, "alice", "s3cret")
    client = docker.from_env()  # reads DOCKER_CONFIG now: the engine's push gets the same credentials
    image = make_image(registry=htpasswd_registry)
    try:
        [result] = ensure([image], registry=htpasswd_registry, concurrency=1, client=client, out=io.StringIO())
        assert (result.built, result.pushed) == (True, True)
        assert Registry(htpasswd_registry).has_image(image.ref) is True
        [again] = ensure([image], registry=htpasswd_registry, concurrency=1, client=client, out=io.StringIO())
        assert (again.built, again.pushed) == (False, False)
    finally:
        client.close()


@pytest.mark.docker
def test_basic_auth_without_credentials_says_docker_login(tmp_path, monkeypatch, htpasswd_registry):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "empty-docker-config"))
    with pytest.raises(ForgeError) as err:
        Registry(htpasswd_registry).has_manifest(f"forge-test-{uuid.uuid4().hex[:8]}", "v1")
    assert str(err.value).startswith(f"registry {htpasswd_registry}: access to forge-test-")
    assert str(err.value).endswith(f"denied: HTTP 401 (run `docker login {htpasswd_registry}`)")
    assert err.value.hint == f"run `docker login {htpasswd_registry}`"
