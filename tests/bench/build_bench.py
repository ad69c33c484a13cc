"""forge's two builders on the same service: BuildKit (`docker buildx build`) vs the classic builder (Docker API).

Each round changes one source file, so both builders rebuild the same layers (COPY, then a RUN that reads it) on
the offline Python base, as a `forge dev` edit does; rounds are interleaved (a load spike hits both alike) and the
medians and their ratio printed. The images are untagged at the end.

Run: .venv/bin/python -m tests.bench.build_bench   (prints numbers; asserts nothing; needs make setup: the engine,
the buildx plugin and the offline base image)
"""

from __future__ import annotations

import contextlib
import io
import statistics
import tempfile
import uuid
from pathlib import Path

import docker
import docker.errors

from forge.images.builders import buildx_version
from forge.images.buildkit import BuildxEngine
from forge.images.engine import DockerEngine
from forge.model import Container, Image
from forge.progress import PlainReporter
from tests.platform import base_images

ROUNDS = 5
DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
WORKDIR /app
COPY app.py ./
RUN python -c "import app; print(app.VALUE)" > value.txt
"""


def main() -> None:
    if buildx_version("docker") is None:
        print("build bench: docker buildx is not installed (make setup installs it); skipped")
        return
    base = base_images.ensure(base_images.PYTHON_SERVICES)
    api = docker.from_env().api
    engines = {"classic": DockerEngine(api), "buildkit": BuildxEngine(api)}
    seconds: dict[str, list[float]] = {name: [] for name in engines}
    made: list[str] = []
    with tempfile.TemporaryDirectory(prefix="forge-build-bench-") as tmp:
        context = Path(tmp)
        (context / "Dockerfile").write_text(DOCKERFILE)
        name = f"forge-build-bench-{uuid.uuid4().hex[:8]}"
        container = Container(key="Dockerfile", name=name, dockerfile=context / "Dockerfile", context=context,
                              args={"BASE_IMAGE": base})
        try:
            for round_ in range(ROUNDS + 1):  # round 0 warms both (base image, builder state) and is not counted
                for builder, engine in engines.items():
                    version = uuid.uuid4().hex[:16]
                    (context / "app.py").write_text(f"VALUE = {version!r}\n")
                    image = Image(container=container, version=version, ref=f"{name}:{version}")
                    made.append(image.ref)
                    took = engine.build(image, PlainReporter(io.StringIO()))
                    if round_:
                        seconds[builder].append(took)
        finally:
            for ref in made:
                with contextlib.suppress(docker.errors.APIError):
                    api.remove_image(ref, force=True)
    medians = {builder: statistics.median(values) for builder, values in seconds.items()}
    print(f"build bench: one changed source file, {ROUNDS} interleaved rounds, median seconds per build "
          f"(forge's build step only)")
    for builder, median in medians.items():
        spread = f"{min(seconds[builder]):.2f}..{max(seconds[builder]):.2f}"
        print(f"  {builder:8} {median:6.2f} s  (range {spread})")
    print(f"  buildkit / classic: {medians['buildkit'] / medians['classic']:.2f}")


if __name__ == "__main__":
    main()
