"""A small sample workspace for forge's tests, built in tmp_path (never the repo's real services).

Layout (see SAMPLE):
  forge.yaml             registry localhost:5001, namespace shop, build_args BASE_IMAGE
  web/                   one container (Dockerfile), .dockerignore excludes k8s/, a Deployment + Service,
                         a ConfigMap that includes conf.yaml.j2 from next to service.yaml; canary profile weight 10
  api/                   two containers found automatically (Dockerfile, worker/Dockerfile); requires db
  db/                    no containers: just a ConfigMap
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ build.name }}
spec:
  replicas: {{ service.replicas }}
  selector:
    matchLabels:
      app: {{ build.name }}
  template:
    metadata:
      labels:
        app: {{ build.name }}
    spec:
      containers:
        - name: %(container)s
          image: {{ build.images["%(key)s"] }}
"""

SAMPLE: dict[str, str] = {
    "forge.yaml": "registry: localhost:5001\nnamespace: shop\nbuild_args:\n  BASE_IMAGE: base:1\n",
    "web/service.yaml": "name: web\nreplicas: 2\nport: 8080\nprofiles:\n  canary:\n    weight: 10\n",
    "web/Dockerfile": "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY app /app\n",
    "web/.dockerignore": "k8s/\n*.tmp\n",
    "web/app/main.py": "print('hello')\n",
    "web/conf.yaml.j2": "weight: {{ build.profile.weight | default(100) }}\nprofile: {{ build.profile.name }}\n",
    "web/k8s/deployment.yaml": DEPLOYMENT % {"container": "web", "key": "Dockerfile"}
    + """\
---
apiVersion: v1
kind: Service
metadata:
  name: {{ build.name }}
spec:
  selector:
    app: {{ build.name }}
  ports:
    - port: {{ service.port }}
""",
    "web/k8s/configmap.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ build.name }}-conf
data:
  conf.yaml: |
{% filter indent(4, first=True) %}{% include "conf.yaml.j2" %}{% endfilter %}
""",
    "api/service.yaml": "replicas: 1\nrequires: [db]\n",
    "api/Dockerfile": "FROM scratch\nCOPY server /server\n",
    "api/server": "#!/bin/sh\necho api\n",
    "api/worker/Dockerfile": "FROM scratch\nCOPY job /job\n",
    "api/worker/job": "work\n",
    "api/k8s/deployment.yml": DEPLOYMENT % {"container": "api", "key": "Dockerfile"},
    "db/service.yaml": "name: db\nsize: 1Gi\n",
    "db/k8s/config.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ build.name }}
data:
  size: {{ service.size | to_json }}
""",
}


def write_tree(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def tree_digest(root: Path) -> dict[str, str]:
    """Every file (and directory) below root with a content hash: to assert that nothing changed."""
    found = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames:
            found[os.path.relpath(os.path.join(directory, name), root) + "/"] = "dir"
        for name in filenames:
            path = Path(directory, name)
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _bypasses_permissions() -> bool:
    """Whether this process may ignore file permissions (CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH in effect)."""
    if os.geteuid() != 0:
        return False
    with open("/proc/self/status", encoding="ascii") as status:
        effective = next(int(line.split()[1], 16) for line in status if line.startswith("CapEff:"))
    return bool(effective & 0b110)  # capability bits 1 and 2


def as_unprivileged(argv: list[str]) -> list[str]:
    """Run argv so that file permissions apply: as root, without the capabilities that bypass them."""
    if not _bypasses_permissions():
        return argv
    return ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
            "--bounding-set=-dac_override,-dac_read_search", *argv]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No profile or verbosity settings leak in from the caller's environment."""
    for name in ("CANARY", "FORGE_PROFILE", "FORGE_BRANCH", "K8S_NAMESPACE", "FORGE_VERBOSE", "KUBECONFIG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sample_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None) -> Path:
    """The SAMPLE workspace in tmp_path/ws, which is also the current directory."""
    root = tmp_path / "ws"
    write_tree(root, SAMPLE)
    os.chmod(root / "api" / "server", 0o755)
    monkeypatch.chdir(root)
    return root


def ensure(images, *, registry, concurrency, client, out):
    """forge.images.ensure.ensure_images with the real engine behind `client` (a DockerClient or its low-level API)
    and the real registry at `registry` (None: none)."""
    from forge.images.engine import DockerEngine
    from forge.images.ensure import ensure_images
    from forge.images.registry import registry_store
    from forge.progress import reporter

    with reporter(out) as progress:
        return ensure_images(images, engine=DockerEngine(getattr(client, "api", client)),
                             store=registry_store(registry), concurrency=concurrency, progress=progress)


# ---- docker tier (engineer B): images with unique names, since tests share one engine and one registry ----

SCRATCH_DOCKERFILE = "FROM scratch\nCOPY hello.txt /hello.txt\n"


@pytest.fixture
def make_image(tmp_path: Path, docker_client):
    """Factory `make_image(dockerfile=SCRATCH_DOCKERFILE, *, registry, args=None) -> Image`: a build context with
    that Dockerfile and a hello.txt under tmp_path/images, a unique image name and version. At the end the local
    tags of the images it made (and only those) are removed."""
    import contextlib
    import uuid

    import docker.errors

    from forge.model import Container, Image

    made: list[Image] = []

    def make(dockerfile: str = SCRATCH_DOCKERFILE, *, registry: str | None,
             args: dict[str, str] | None = None) -> Image:
        name = f"forge-test-{uuid.uuid4().hex[:10]}"
        context = tmp_path / "images" / name
        context.mkdir(parents=True)
        (context / "Dockerfile").write_text(dockerfile)
        (context / "hello.txt").write_text(f"hello from {name}\n")
        container = Container(key="Dockerfile", name=name, dockerfile=context / "Dockerfile", context=context,
                              args=args or {})
        version = uuid.uuid4().hex[:16]
        image = Image(container=container, version=version,
                      ref=f"{registry}/{name}:{version}" if registry else f"{name}:{version}")
        made.append(image)
        return image

    yield make
    for image in made:
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(image.ref, force=True)
