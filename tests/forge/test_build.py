"""forge.images.engine against the real Docker engine and a real registry on 127.0.0.1."""

from __future__ import annotations

import contextlib
import io
import threading
import time

import pytest
import requests

from forge.errors import ForgeError
from tests.forge.conftest import ensure
from tests.platform.procs import free_port, running

pytestmark = pytest.mark.docker



def repository(ref: str) -> str:
    """`127.0.0.1:5000/name:tag` -> `name`, as the registry lists it."""
    return ref.split("/", 1)[1].rsplit(":", 1)[0]


def image_events(docker_client, since: float, ref: str) -> list[str]:
    """Actions ('tag', 'push', ...) the engine reported for `ref` since `since`."""
    name = ref.rsplit(":", 1)[0]
    events = docker_client.api.events(since=int(since), until=int(time.time()) + 1, decode=True,
                                      filters={"type": "image"})
    return [e["Action"] for e in events if name in e.get("id", "") + e.get("Actor", {}).get("Attributes", {})
            .get("name", "")]


def test_build_tag_push_then_second_run_builds_and_pushes_nothing(tmp_path, docker_client, registry, make_image):
    image = make_image(registry=registry.host)
    repo = repository(image.ref)
    t0 = time.time() - 1

    out = io.StringIO()
    [first] = ensure([image], registry=registry.host, concurrency=2, client=docker_client, out=out)
    assert (first.built, first.pushed) == (True, True)
    assert registry.tags(repo) == [image.version]
    local = docker_client.images.get(image.ref)
    assert f"{image.ref}: step 2/2 COPY hello.txt /hello.txt" in out.getvalue()
    assert {"tag", "push"} <= set(image_events(docker_client, t0, image.ref))

    time.sleep(1.1)  # event timestamps have second resolution
    t1 = time.time()
    out = io.StringIO()
    [second] = ensure([image, image], registry=registry.host, concurrency=2, client=docker_client, out=out)
    assert (second.built, second.pushed) == (False, False)
    assert out.getvalue() == f"{image.ref}: up to date in the registry\n"
    assert docker_client.images.get(image.ref).id == local.id
    assert image_events(docker_client, t1, image.ref) == []
    assert registry.tags(repo) == [image.version]


def test_local_only_without_registry(tmp_path, docker_client, make_image):
    image = make_image(registry=None)
    [first] = ensure([image], registry=None, concurrency=1, client=docker_client, out=io.StringIO())
    assert (first.built, first.pushed) == (True, False)
    created = docker_client.images.get(image.ref).attrs["Created"]
    out = io.StringIO()
    [second] = ensure([image], registry=None, concurrency=1, client=docker_client, out=out)
    assert (second.built, second.pushed) == (False, False)
    assert out.getvalue() == f"{image.ref}: found in the local engine\n"
    assert docker_client.images.get(image.ref).attrs["Created"] == created


def test_image_in_engine_but_not_in_registry_is_pushed_without_rebuild(tmp_path, docker_client, registry, make_image):
    image = make_image(registry=registry.host)
    ensure([image], registry=None, concurrency=1, client=docker_client, out=io.StringIO())
    image_id = docker_client.images.get(image.ref).id
    [result] = ensure([image], registry=registry.host, concurrency=1, client=docker_client, out=io.StringIO())
    assert (result.built, result.pushed) == (False, True)
    assert docker_client.images.get(image.ref).id == image_id
    assert registry.tags(repository(image.ref)) == [image.version]


class CountingAPI:
    """The real low-level client, counting how many builds stream at the same time."""

    def __init__(self, api):
        self._api = api
        self._lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.builds = 0
        self.seconds = 0.0  # sum of the builds' own durations

    def __getattr__(self, name):
        return getattr(self._api, name)

    def build(self, **kwargs):
        with self._lock:
            self.running += 1
            self.builds += 1
            self.most = max(self.most, self.running)
        started = time.monotonic()
        try:
            yield from self._api.build(**kwargs)
        finally:
            with self._lock:
                self.running -= 1
                self.seconds += time.monotonic() - started


def test_parallel_builds_bounded_by_concurrency(tmp_path, docker_client, python_base_image, make_image):
    """No registry here: pushing the 240 MB base layer is not what this test is about."""
    dockerfile = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY hello.txt /hello.txt\nRUN sleep 2 && cat /hello.txt\n"
    images = [make_image(dockerfile, registry=None, args={"BASE_IMAGE": python_base_image})
              for _ in range(3)]
    api = CountingAPI(docker_client.api)
    started = time.monotonic()
    results = ensure(images, registry=None, concurrency=2, client=api, out=io.StringIO())
    elapsed = time.monotonic() - started
    assert [(r.image, r.built, r.pushed) for r in results] == [(i, True, False) for i in images]
    assert api.builds == 3
    assert api.most == 2
    assert elapsed < 0.85 * api.seconds, f"builds took {api.seconds:.1f}s in all but {elapsed:.1f}s: not parallel"
    for image in images:
        assert docker_client.images.get(image.ref)


def test_failing_build_names_the_step_and_pushes_nothing(tmp_path, docker_client, registry, python_base_image,
                                                        make_image):
    good = make_image(registry=registry.host)
    bad = make_image("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo about to fail && exit 3\n",
                     registry=registry.host, args={"BASE_IMAGE": python_base_image})
    with pytest.raises(ForgeError) as err:
        ensure([good, bad], registry=registry.host, concurrency=2, client=docker_client, out=io.StringIO())
    assert str(err.value) == (
        f"build of {bad.ref} ({bad.container.dockerfile}) failed at step 3/3: RUN echo about to fail && exit 3: "
        "The command '/bin/sh -c echo about to fail && exit 3' returned a non-zero code: 3 "
        "(last output: about to fail)"
    )
    assert "Step 1/3 : ARG BASE_IMAGE" in err.value.detail
    assert "about to fail" in err.value.detail
    catalog = registry.catalog()
    assert good.container.name not in catalog and bad.container.name not in catalog
    assert not docker_client.images.list(name=bad.ref)


def test_dockerfile_syntax_error_is_one_line(tmp_path, docker_client, registry, make_image):
    bad = make_image("FROM scratch\nBOGUS x\n", registry=registry.host)
    with pytest.raises(ForgeError) as err:
        ensure([bad], registry=registry.host, concurrency=1, client=docker_client, out=io.StringIO())
    assert str(err.value) == (f"build of {bad.ref} ({bad.container.dockerfile}) failed: "
                              "dockerfile parse error line 2: unknown instruction: BOGUS")


def test_missing_dockerfile(tmp_path, docker_client, make_image):
    image = make_image(registry=None)
    image.container.dockerfile.unlink()
    with pytest.raises(ForgeError) as err:
        ensure([image], registry=None, concurrency=1, client=docker_client, out=io.StringIO())
    assert str(err.value) == f"build of {image.ref} failed: Dockerfile {image.container.dockerfile} not found"


def test_unreachable_registry_builds_nothing(tmp_path, docker_client, make_image):
    host = f"127.0.0.1:{free_port()}"
    image = make_image(registry=host)
    with pytest.raises(ForgeError) as err:
        ensure([image], registry=host, concurrency=1, client=docker_client, out=io.StringIO())
    assert str(err.value) == f"registry {host} is unreachable: Connection refused"
    assert not docker_client.images.list(name=image.ref)


def test_push_error_names_image_and_registry(tmp_path, docker_client, make_image):
    """A read-only registry answers HEAD (404) but refuses the push."""
    port = free_port()
    config = tmp_path / "readonly.yml"
    config.write_text(
        "version: 0.1\nlog: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp_path / 'data'}}}, "
        "maintenance: {readonly: {enabled: true}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    host = f"127.0.0.1:{port}"
    image = make_image(registry=host)
    with (
        running(["docker-registry", "serve", str(config)], tmp_path / "registry.log",
                ready=lambda: port_answers(port), what="read-only registry"),
        pytest.raises(ForgeError) as err,
    ):
        ensure([image], registry=host, concurrency=1, client=docker_client, out=io.StringIO())
    assert str(err.value).startswith(f"push of {image.ref} to {host} failed: ")
    assert "405" in str(err.value)


def port_answers(port: int) -> bool:
    return requests.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 200


def test_forge_build_command_builds_and_pushes_without_a_cluster(tmp_path, monkeypatch, docker_client, registry):
    """`forge build` (for CI): the images deploy would use, pushed; stdout is their references; a re-run skips."""
    import uuid

    from forge.plan import plan
    from tests.forge.cli import forge

    name = f"forge-test-{uuid.uuid4().hex[:10]}"
    service = tmp_path / "ws" / "svc"
    service.mkdir(parents=True)
    (service / "service.yaml").write_text(f"containers: [{{dockerfile: Dockerfile, name: {name}}}]\n")
    (service / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
    (service / "hello.txt").write_text(f"hello from {name}\n")
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))  # proves no cluster is needed
    monkeypatch.chdir(service)
    (image,) = {i.ref: i for b in plan(service, registry=registry.host) for i in b.images.values()}.values()
    try:
        first = forge("build", "--registry", registry.host)
        assert first.exit_code == 0, first.stderr
        assert first.stdout == f"{image.ref}\n"
        assert f"{image.ref}: pushed in" in first.stderr
        assert registry.tags(name) == [image.version]
        second = forge("build", "--registry", registry.host)
        assert (second.exit_code, second.stdout) == (0, f"{image.ref}\n")
        assert f"{image.ref}: up to date in the registry" in second.stderr
    finally:
        with contextlib.suppress(Exception):
            docker_client.images.remove(image.ref, force=True)
