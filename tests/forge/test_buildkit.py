"""The builder choice (FORGE_BUILDER, buildx present or not, the engine), the `docker buildx build` command line,
its progress and failures, build secrets that never show, and the classic builder's refusal of a Dockerfile that
needs BuildKit: through fakes (tests/forge/fakes.py). The real engine and buildx: tests/forge/test_buildkit_engine.py.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from forge.errors import ForgeError, UsageError
from forge.images.builders import buildx_version, connect_engine
from forge.images.buildkit import BuildxEngine, buildx_command
from forge.images.engine import DockerEngine
from forge.images.ensure import ensure_images
from forge.model import BuildSecret, Container, Image
from forge.progress import PlainReporter
from tests.forge.cli import forge
from tests.forge.fakes import FakeBuildx, FakeDockerAPI, FakeRegistry

pytestmark = pytest.mark.unit

SECRET_VALUE = "https://alice:hunter2@pypi.example/simple"
BUILDX = "github.com/docker/buildx v0.38.0 0123456"


@pytest.fixture
def path_with_docker(tmp_path: Path) -> str:
    """A PATH whose only entry has an executable `docker` (the builder choice looks it up)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "docker").chmod(0o755)
    return str(bin_dir)


def make_image(tmp_path: Path, dockerfile: str = "FROM scratch\nCOPY a /a\n",
               secrets: tuple[BuildSecret, ...] = ()) -> Image:
    context = tmp_path / "svc"
    context.mkdir(exist_ok=True)
    (context / "Dockerfile").write_text(dockerfile)
    container = Container(key="Dockerfile", name="svc", dockerfile=context / "Dockerfile", context=context,
                          args={"BASE_IMAGE": "python:3.12"}, secrets=secrets)
    return Image(container=container, version="0123456789abcdef", ref="localhost:5001/svc:0123456789abcdef")


# ---- which builder ----

def choose(env: dict[str, str], api: FakeDockerAPI | None = None, buildx: str | None = BUILDX) -> DockerEngine:
    return connect_engine(env, client=api or FakeDockerAPI(), probe=lambda docker, env: buildx)


def test_auto_takes_buildkit_when_buildx_answers(path_with_docker: str) -> None:
    engine = choose({"PATH": path_with_docker})
    assert isinstance(engine, BuildxEngine)
    assert engine.docker_cli == f"{path_with_docker}/docker"
    assert isinstance(choose({"PATH": path_with_docker, "FORGE_BUILDER": "buildkit"}), BuildxEngine)


@pytest.mark.parametrize(("env", "api", "buildx", "reason"), [
    ({}, FakeDockerAPI(), None, "docker buildx is not available"),
    ({"FORGE_BUILDER": "classic"}, FakeDockerAPI(), BUILDX, "FORGE_BUILDER=classic"),
    ({"DOCKER_BUILDKIT": "0"}, FakeDockerAPI(), BUILDX, "DOCKER_BUILDKIT=0"),
    ({}, FakeDockerAPI(api_version="1.39"), BUILDX, "the Docker linux engine 20.10.24 (API 1.39) has no BuildKit"),
    ({}, FakeDockerAPI(os="windows"), BUILDX, "the Docker windows engine 20.10.24 (API 1.41) has no BuildKit"),
], ids=["no-buildx", "forced-classic", "docker-buildkit-0", "old-engine", "windows-engine"])
def test_auto_falls_back_to_the_classic_builder(path_with_docker: str, env: dict[str, str], api: FakeDockerAPI,
                                                buildx: str | None, reason: str) -> None:
    engine = choose({"PATH": path_with_docker, **env}, api, buildx)
    assert type(engine) is DockerEngine
    assert engine.classic[0] == reason


def test_no_docker_cli_means_the_classic_builder(tmp_path: Path) -> None:
    engine = choose({"PATH": str(tmp_path)})
    assert type(engine) is DockerEngine and engine.classic[0] == "the docker CLI is not on PATH"


def test_buildkit_demanded_but_missing_is_one_line(path_with_docker: str) -> None:
    with pytest.raises(ForgeError) as err:
        choose({"PATH": path_with_docker, "FORGE_BUILDER": "buildkit"}, buildx=None)
    assert str(err.value) == ("FORGE_BUILDER=buildkit: docker buildx is not available (install the Docker buildx CLI "
                              "plugin, so that `docker buildx version` works; the shopbox shell has it)")


def test_a_bad_forge_builder_stops_before_docker_is_contacted(path_with_docker: str) -> None:
    api = FakeDockerAPI()
    with pytest.raises(UsageError) as err:
        choose({"PATH": path_with_docker, "FORGE_BUILDER": "fast"}, api)
    assert str(err.value) == "FORGE_BUILDER=fast: expected auto, buildkit or classic"
    assert api.pings == 0


def test_forge_build_with_a_bad_forge_builder(sample_workspace: Path, monkeypatch) -> None:
    monkeypatch.setenv("FORGE_BUILDER", "BuildKit")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")  # never reached
    result = forge("build", str(sample_workspace / "web"))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines()[-1] == "error: FORGE_BUILDER=BuildKit: expected auto, buildkit or classic"


def test_buildx_is_asked_once_per_plugin_location(tmp_path: Path) -> None:
    """A `docker` that answers `buildx version` only with DOCKER_CONFIG=with-buildx, counting its calls."""
    calls = tmp_path / "calls"
    docker = tmp_path / "docker"
    docker.write_text(f'#!/bin/sh\necho x >> {calls}\n[ "$DOCKER_CONFIG" = with-buildx ] && echo "{BUILDX}"\n')
    docker.chmod(0o755)
    for _ in range(2):
        assert buildx_version(str(docker), {"DOCKER_CONFIG": "with-buildx"}) == BUILDX
        assert buildx_version(str(docker), {"DOCKER_CONFIG": "empty"}) is None
    assert calls.read_text() == "x\nx\n"


# ---- the BuildKit builder ----

def test_the_buildx_command_line(tmp_path: Path) -> None:
    secrets = (BuildSecret(id="pip", env="PIP_INDEX_URL"), BuildSecret(id="npmrc", file=tmp_path / ".npmrc"))
    image = make_image(tmp_path, secrets=secrets)
    context = image.container.context
    assert buildx_command(image, "/usr/bin/docker", "linux/arm64") == [
        "/usr/bin/docker", "buildx", "build", "--progress=plain", "--platform", "linux/arm64", "--load",
        "--tag", "localhost:5001/svc:0123456789abcdef", "--file", f"{context}/Dockerfile",
        "--build-arg", "BASE_IMAGE=python:3.12",
        "--secret", "id=pip,env=PIP_INDEX_URL", "--secret", f"id=npmrc,src={tmp_path}/.npmrc",
        str(context),
    ]


SUCCESS = """\
#0 building with "default" instance using docker driver

#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 180B done
#1 DONE 0.0s

#4 [1/3] FROM docker.io/library/python:3.12
#4 CACHED

#5 [2/3] RUN --mount=type=secret,id=pip pip install -r requirements.txt
#5 0.512 Collecting flask
#5 DONE 2.1s

#6 [3/3] COPY app /app
#6 DONE 0.1s

#7 exporting to image
#7 naming to localhost:5001/svc:0123456789abcdef done
#7 DONE 0.2s""".splitlines()

# As Docker 20.10's BuildKit (v0.8) prints it: stage names in the step, its own wording of a failed RUN.
FAILURE = """\
#0 building with "default" instance using docker driver

#4 [stage-0 1/3] FROM docker.io/library/python:3.12
#4 CACHED

#5 [stage-0 2/3] RUN echo about to fail && exit 3
#5 ...

#6 [internal] load build context
#6 DONE 0.0s

#5 [stage-0 2/3] RUN echo about to fail && exit 3
#5 0.204 about to fail
#5 ERROR: executor failed running [/bin/sh -c echo about to fail && exit 3]: exit code: 3
------
 > [stage-0 2/3] RUN echo about to fail && exit 3:
0.204 about to fail
------
ERROR: failed to build: failed to solve: executor failed running [/bin/sh -c echo about to fail && exit 3]: exit \
code: 3""".splitlines()


def build(tmp_path: Path, buildx: FakeBuildx, env: dict[str, str] | None = None,
          secrets: tuple[BuildSecret, ...] = ()) -> tuple[Image, io.StringIO]:
    """Build one image with BuildxEngine behind `buildx`; the image and its progress output."""
    image = make_image(tmp_path, secrets=secrets)
    out = io.StringIO()
    engine = BuildxEngine(FakeDockerAPI(), docker_cli="docker", run=buildx, env=env or {})
    engine.build(image, PlainReporter(out))
    return image, out


def test_buildkit_progress_is_prefixed_plain_lines(tmp_path: Path) -> None:
    buildx = FakeBuildx(SUCCESS)
    image, out = build(tmp_path, buildx)
    assert out.getvalue().splitlines() == [
        f"{image.ref}: building (BuildKit)",
        f"{image.ref}: step 1/3 FROM docker.io/library/python:3.12",
        f"{image.ref}: step 2/3 RUN --mount=type=secret,id=pip pip install -r requirements.txt",
        f"{image.ref}: step 3/3 COPY app /app",
    ]
    [(argv, env)] = buildx.calls
    assert argv == buildx_command(image, "docker", "linux/amd64")
    assert env["BUILDX_NO_DEFAULT_ATTESTATIONS"] == "1"


def test_a_failing_buildkit_step_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ForgeError) as err:
        build(tmp_path, FakeBuildx(FAILURE, code=1))
    dockerfile = tmp_path / "svc" / "Dockerfile"
    assert str(err.value) == (
        f"build of localhost:5001/svc:0123456789abcdef ({dockerfile}) failed at step 2/3: RUN echo about to fail && "
        "exit 3: executor failed running [/bin/sh -c echo about to fail && exit 3]: exit code: 3 "
        "(last output: about to fail)")
    assert err.value.detail == "\n".join(FAILURE)


def test_a_failure_outside_a_step_uses_buildx_s_last_error(tmp_path: Path) -> None:
    lines = ["#1 [internal] load build definition from Dockerfile", "#1 DONE 0.0s",
             "ERROR: failed to build: failed to solve: dockerfile parse error on line 2: unknown instruction: BOGUS"]
    with pytest.raises(ForgeError) as err:
        build(tmp_path, FakeBuildx(lines, code=1))
    assert str(err.value).endswith("failed: dockerfile parse error on line 2: unknown instruction: BOGUS")


def test_secret_values_never_reach_the_command_line_or_forge_s_output(tmp_path: Path) -> None:
    """The value is only in the environment buildx inherits; a failing build's message and detail lack it too."""
    secret_file = tmp_path / "token"
    secret_file.write_text(SECRET_VALUE)
    secrets = (BuildSecret(id="pip", env="PIP_INDEX_URL"), BuildSecret(id="token", file=secret_file))
    env = {"PIP_INDEX_URL": SECRET_VALUE}
    ok = FakeBuildx(SUCCESS)
    _, out = build(tmp_path, ok, env, secrets)
    [(argv, passed)] = ok.calls
    assert passed["PIP_INDEX_URL"] == SECRET_VALUE
    assert "hunter2" not in " ".join(argv) and "hunter2" not in out.getvalue()
    failing = FakeBuildx(FAILURE, code=1)
    with pytest.raises(ForgeError) as err:
        build(tmp_path, failing, env, secrets)
    assert "hunter2" not in f"{err.value} {err.value.detail} {failing.calls[0][0]}"


@pytest.mark.parametrize(("secret", "message"), [
    (BuildSecret(id="pip", env="PIP_INDEX_URL"), "secret pip: environment variable PIP_INDEX_URL is not set"),
    (BuildSecret(id="npmrc", file=Path("/nonexistent/.npmrc")), "secret npmrc: file /nonexistent/.npmrc not found"),
], ids=["env", "file"])
def test_a_missing_secret_source_stops_before_building(tmp_path: Path, secret: BuildSecret, message: str) -> None:
    buildx = FakeBuildx(SUCCESS)
    with pytest.raises(ForgeError) as err:
        build(tmp_path, buildx, {}, (secret,))
    assert str(err.value) == f"build of localhost:5001/svc:0123456789abcdef ({tmp_path}/svc/Dockerfile): {message}"
    assert buildx.calls == []


# ---- the classic builder refuses what needs BuildKit ----

CACHE_MOUNT = "FROM python:3.12\nCOPY . /src\nRUN --mount=type=cache,target=/root/.cache \\\n    pip install /src\n"


@pytest.mark.parametrize(("dockerfile", "secrets", "need"), [
    (CACHE_MOUNT, (), "RUN --mount, line 3"),
    ("FROM alpine\nRUN --network=none true\n", (), "RUN --network, line 2"),
    ("FROM alpine\nRUN true\n", (BuildSecret(id="pip", env="PIP"),), "build secrets: pip"),
], ids=["cache-mount", "network", "secrets"])
def test_the_classic_builder_refuses_what_needs_buildkit(tmp_path: Path, dockerfile: str,
                                                         secrets: tuple[BuildSecret, ...], need: str) -> None:
    """One line naming the Dockerfile and how to get BuildKit; nothing is built or pushed."""
    image = make_image(tmp_path, dockerfile, secrets)
    api = FakeDockerAPI()
    engine = DockerEngine(api, classic=("docker buildx is not available", "install the Docker buildx CLI plugin"))
    registry = FakeRegistry(host="localhost:5001")
    with pytest.raises(ForgeError) as err:
        ensure_images([image], engine=engine, store=registry, concurrency=1, progress=PlainReporter(io.StringIO()))
    assert str(err.value) == (
        f"build of {image.ref} ({image.container.dockerfile}) needs BuildKit ({need}) but forge builds with the "
        "classic builder: docker buildx is not available (install the Docker buildx CLI plugin)")
    assert api.builds == 0 and registry.images == set()


def test_the_classic_builder_still_builds_plain_dockerfiles(tmp_path: Path) -> None:
    api = FakeDockerAPI()
    image = make_image(tmp_path, "FROM alpine\nRUN echo --mount=not-a-flag\n")
    DockerEngine(api).build(image, PlainReporter(io.StringIO()))
    assert api.builds == 1


# ---- the platform: the engine's own architecture ----

@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_both_builders_build_for_the_engines_architecture(tmp_path: Path, arch: str) -> None:
    """On an arm64 engine (Apple Silicon) the images are linux/arm64, like the kind node, whichever builder builds
    them and whatever DOCKER_DEFAULT_PLATFORM says; the engine is asked once."""
    api = FakeDockerAPI(arch=arch)
    classic = DockerEngine(api)
    for _ in range(2):
        classic.build(make_image(tmp_path, "FROM alpine\n"), PlainReporter(io.StringIO()))
    assert api.build_platforms == [f"linux/{arch}"] * 2 and api.versions == 1
    buildx = FakeBuildx(SUCCESS)
    engine = BuildxEngine(FakeDockerAPI(arch=arch), docker_cli="docker", run=buildx,
                          env={"DOCKER_DEFAULT_PLATFORM": "linux/amd64" if arch == "arm64" else "linux/arm64"})
    engine.build(make_image(tmp_path), PlainReporter(io.StringIO()))
    [(argv, _)] = buildx.calls
    assert argv[argv.index("--platform") + 1] == f"linux/{arch}"
