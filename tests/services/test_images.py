"""The services' images: Dockerfile pins and build context (unit), and the real images built and run (docker)."""

from __future__ import annotations

import re
import time
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from forge.config.descriptor import load_service
from forge.images.version import context_files
from tests.platform.base_images import ROOT
from tests.platform.procs import wait_for
from tests.services.apps import AUTH_DIR, QOTM_DIR
from versions_env import read_versions

SERVICES = {"qotm": QOTM_DIR, "auth": AUTH_DIR}
CONTEXT_FILES = {"qotm": ["qotm.py", "gunicorn.conf.py"], "auth": ["auth.py"]}
COMMANDS = {"qotm": '["python", "-m", "gunicorn", "qotm:app"]', "auth": '["python", "auth.py"]'}
PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][A-Za-z0-9.+!-]*)")
TOKEN = "tok-docker-7c1e9b"


def pins(path: Path) -> dict[str, str]:
    """name -> version of a requirements input file; every requirement line must be an exact pin."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            match = PIN.fullmatch(line)
            assert match, f"{path}: {line!r} is not an exact NAME==VERSION pin"
            found[match[1].lower().replace("_", "-")] = match[2]
    return found


def locked(path: Path) -> dict[str, str]:
    """name -> version of a hash-locked requirements file (`make lock`); every entry must carry its hashes."""
    text = path.read_text()
    assert text.splitlines()[1].strip() == "#    make lock", f"{path}: not made by `make lock`"
    found = {}
    for entry in re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2]):
        match = PIN.match(entry)
        assert match, f"{path}: {entry.splitlines()[0]!r} is not an exact NAME==VERSION pin"
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), f"{path}: {match[0]} has no hash"
        found[match[1].lower().replace("_", "-")] = match[2]
    return found


# --- unit: what the Dockerfiles and build contexts say --------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize("service", SERVICES)
def test_dockerfile_base_default_is_the_versions_env_pin(service: str) -> None:
    dockerfile = (SERVICES[service] / "Dockerfile").read_text()
    (default,) = re.findall(r"^ARG BASE_IMAGE=(\S+)$", dockerfile, re.MULTILINE)
    assert default == read_versions(ROOT / "versions.env")["PYTHON_BASE_IMAGE"]
    assert re.fullmatch(r"python:3\.12\.\d+-alpine3\.\d+@sha256:[0-9a-f]{64}", default)
    assert dockerfile.index("ARG BASE_IMAGE=") < dockerfile.index("FROM ${BASE_IMAGE}")


@pytest.mark.unit
@pytest.mark.parametrize("service", SERVICES)
def test_dockerfile_runs_the_server_as_a_numeric_non_root_user_from_hash_locked_requirements(service: str) -> None:
    dockerfile = (SERVICES[service] / "Dockerfile").read_text()
    (user,) = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0 and gid.isdigit() and int(gid) > 0
    assert f"CMD {COMMANDS[service]}" in dockerfile
    assert re.search(r"pip install --no-cache-dir .*--require-hashes \\\n\s+-r requirements.txt", dockerfile)


@pytest.mark.unit
@pytest.mark.parametrize("service", SERVICES)
def test_build_context_holds_only_what_the_image_needs(service: str) -> None:
    """So forge's version (a hash of the context) changes with the image, not with k8s/, README or service.yaml."""
    (container,) = load_service(SERVICES[service] / "service.yaml").containers
    expected = [".dockerignore", "Dockerfile", "requirements.txt", *CONTEXT_FILES[service]]
    assert context_files(container) == sorted(expected)  # Docker always sends .dockerignore and the Dockerfile


@pytest.mark.unit
def test_requirements_are_exact_and_agree_with_each_other_and_the_test_environment() -> None:
    qotm, auth = locked(QOTM_DIR / "requirements.txt"), locked(AUTH_DIR / "requirements.txt")
    assert {"flask", "gunicorn", "prometheus-client", "werkzeug"} <= set(qotm)
    assert set(auth) == {"werkzeug", "markupsafe"}  # no web framework: auth.py serves HTTP with asyncio
    shared = set(qotm) & set(auth)
    assert {name: qotm[name] for name in shared} == {name: auth[name] for name in shared}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = [*project["dependencies"], *project["optional-dependencies"]["test"]]  # flask: the portal's too
    tested = {m[1].lower(): m[2] for m in map(PIN.fullmatch, pins) if m}
    for name in ("flask", "gunicorn", "prometheus-client"):
        assert qotm[name] == tested[name], f"{name}: image pins {qotm[name]}, tests run {tested[name]}"


LOCKS = {name: (directory / "requirements.in", directory / "requirements.txt")
         for name, directory in {"qotm": QOTM_DIR, "auth": AUTH_DIR, "usersvc": ROOT / "usersvc",
                                 "eds": ROOT / "eds"}.items()}


@pytest.mark.unit
@pytest.mark.parametrize("service", LOCKS)
def test_each_image_lock_file_holds_its_inputs_pins(service: str) -> None:
    """requirements.in (the direct dependencies) and requirements.txt (their hash-locked closure) cannot drift:
    an input changed without `make lock` fails here."""
    wanted, lock = LOCKS[service]
    inputs, closure = pins(wanted), locked(lock)
    assert inputs and {name: closure.get(name) for name in inputs} == inputs
    for name in closure:  # every other entry is there because an input (or one of theirs) needs it
        assert name in inputs or re.search(rf"^{name}==.*\n(?:    .*\n)*?    # via", lock.read_text(),
                                           re.MULTILINE | re.IGNORECASE), name


@pytest.mark.unit
@pytest.mark.parametrize(("lock", "extras"), [("tests/platform/requirements.lock", ["test"]),
                                              ("shopbox/requirements.lock", [])])
def test_each_pyproject_lock_holds_every_pin_of_pyproject(lock: str, extras: list[str]) -> None:
    """tests/platform/install.sh (the test venv: forge + the test extra) and shopbox/Dockerfile (forge in the shell
    image) install these with --require-hashes: each must pin what pyproject.toml pins, at the same versions."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [r for extra in extras for r in project["optional-dependencies"][extra]]
    wanted = {m[1].lower().replace("_", "-"): m[2]
              for m in map(PIN.fullmatch, [r.split(";")[0].strip() for r in requirements]) if m}
    assert len(wanted) == len(requirements)  # every one an exact pin
    closure = locked(ROOT / lock)
    assert {name: closure.get(name) for name in wanted} == wanted


# --- docker: the real images ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def images(docker_client, python_base_image: str) -> Iterator[dict[str, str]]:
    """Both images, built from their Dockerfiles on the offline base; removed at the end."""
    built: dict[str, str] = {}
    try:
        for service, directory in SERVICES.items():
            tag = f"shopbox-test/{service}:{uuid.uuid4().hex[:12]}"
            docker_client.images.build(path=str(directory), tag=tag, buildargs={"BASE_IMAGE": python_base_image},
                                       rm=True, forcerm=True)
            built[service] = tag
        yield built
    finally:
        for tag in built.values():
            docker_client.images.remove(tag, force=True)


@pytest.fixture
def run(docker_client) -> Iterator:
    """run(image, **options) -> (container, base URL): published on 127.0.0.1, read-only root, /tmp a tmpfs
    (as in the Kubernetes manifests). Every container is removed at the end."""
    started = []

    def start(image: str, **options):
        container = docker_client.containers.run(
            image, detach=True, ports={"8080/tcp": ("127.0.0.1", None)}, read_only=True, tmpfs={"/tmp": ""},
            **options,
        )
        started.append(container)
        container.reload()
        port = container.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"]
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: requests.get(f"{url}/health", timeout=1).status_code == 200, 30, f"{image} /health")
        except TimeoutError:
            raise AssertionError(f"{image} never got healthy; logs:\n{container.logs().decode()[-2000:]}") from None
        return container, url

    yield start
    for container in started:
        container.remove(force=True)


def logs_once_written(container, line: str, timeout: float = 10) -> str:
    """The container's logs once they hold `line`: the engine copies what a process wrote to its log a moment
    later, so a line written before the answer may not be there yet when the answer arrives."""
    deadline = time.monotonic() + timeout
    while line not in (logs := container.logs().decode()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return logs


def user_of(container) -> str:
    result = container.exec_run(["python", "-c", "import os; print(os.getuid(), os.getgid())"])
    return result.output.decode().strip()


@pytest.mark.docker
def test_qotm_image_serves_its_version_as_a_non_root_user(images, run, docker_client) -> None:
    container, url = run(images["qotm"], environment={"QOTM_VERSION": "v-docker"})
    assert requests.get(f"{url}/health", timeout=5).json() == {"status": "ok", "version": "v-docker"}
    body = requests.get(f"{url}/", timeout=5).json()
    assert body["version"] == "v-docker"
    assert body["hostname"] == container.attrs["Config"]["Hostname"]
    assert docker_client.api.inspect_image(images["qotm"])["Config"]["User"] == "10001:10001"
    assert user_of(container) == "10001 10001"
    assert 'qotm_requests_total{endpoint="/",method="GET",status="200"} 1.0' in requests.get(f"{url}/metrics",
                                                                                              timeout=5).text


@pytest.mark.docker
def test_qotm_container_stops_cleanly_on_sigterm(images, run) -> None:
    container, _ = run(images["qotm"])
    started = time.monotonic()
    container.stop(timeout=15)  # SIGTERM, SIGKILL only after 15 s
    assert container.wait(timeout=5)["StatusCode"] == 0
    assert time.monotonic() - started < 12
    assert "Shutting down: Master" in container.logs().decode()


@pytest.mark.docker
def test_qotm_crash_ends_the_container_with_status_1(images, run) -> None:
    container, url = run(images["qotm"])
    response = requests.get(f"{url}/crash", timeout=5)
    assert response.status_code == 200 and response.json()["crashing"] is True
    assert container.wait(timeout=15)["StatusCode"] == 1
    logs = container.logs().decode()
    assert "GET /crash: this process exits with status 1 now, on purpose" in logs
    assert "exited unexpectedly" in logs


@pytest.mark.docker
def test_auth_image_checks_tokens_from_a_mounted_file(images, run, docker_client, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"alice:{TOKEN}\n")
    tokens.chmod(0o644)
    container, url = run(images["auth"], environment={"AUTH_MODE": "token", "AUTH_TOKENS_FILE": "/etc/auth/tokens"},
                         volumes={str(tokens): {"bind": "/etc/auth/tokens", "mode": "ro"}})
    assert docker_client.api.inspect_image(images["auth"])["Config"]["User"] == "10001:10001"
    assert user_of(container) == "10001 10001"
    allowed = requests.get(f"{url}/check/qotm/", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert allowed.status_code == 200 and allowed.headers["x-authenticated-as"] == "alice"
    missing = requests.get(f"{url}/check/qotm/", timeout=5)
    assert missing.status_code == 401 and missing.headers["x-auth-reason"] == "missing credentials"
    wrong = requests.get(f"{url}/check/qotm/", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 403
    logs = logs_once_written(container, "deny GET /qotm/: 403")  # the engine copies a container's output later
    assert "allow GET /qotm/ as alice" in logs
    assert TOKEN not in logs


@pytest.mark.docker
def test_auth_container_stops_at_once_on_sigterm(images, run) -> None:
    container, _ = run(images["auth"])
    started = time.monotonic()
    container.stop(timeout=15)
    assert container.wait(timeout=5)["StatusCode"] == 0
    assert time.monotonic() - started < 5


def refuses_in_one_line(docker_client, image: str, message: str, timeout: float = 30, **run: object) -> None:
    """The container exits 1 at start, logging `message` and no traceback."""
    container = docker_client.containers.run(image, detach=True, **run)
    try:
        assert container.wait(timeout=timeout)["StatusCode"] == 1
        logs = container.logs().decode()
        assert message in logs
        assert "Traceback" not in logs
    finally:
        container.remove(force=True)


@pytest.mark.docker
def test_auth_container_refuses_a_bad_mode_in_one_line(images, docker_client) -> None:
    refuses_in_one_line(docker_client, images["auth"], "auth: AUTH_MODE='open': expected allow, token or basic",
                        environment={"AUTH_MODE": "open"})
