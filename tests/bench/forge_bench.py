"""forge benchmarks: `forge render` over the repository's services, and version hashing throughput.

Run: .venv/bin/python -m tests.bench.forge_bench   (prints numbers; asserts nothing)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from forge.config.descriptor import load_service
from forge.images.version import container_version
from forge.manifests.render import render
from forge.manifests.validate import validate
from forge.plan import plan

REPO = Path(__file__).resolve().parents[2]


def _timed(action: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median, min) seconds of `runs` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def bench_render(runs: int = 5) -> None:
    """plan + render + validate of every service in the repo, in-process and as a fresh `forge render` process."""
    manifests = services = 0

    def pipeline() -> None:
        nonlocal manifests, services
        rendered = render(plan(REPO))
        validate(rendered)
        manifests, services = len(rendered), len({m.build.service.name for m in rendered})

    median, best = _timed(pipeline, runs)
    print(f"render (in-process): {services} services, {manifests} objects: median {median * 1000:.0f} ms, "
          f"best {best * 1000:.0f} ms over {runs} runs")
    forge = str(Path(sys.executable).parent / "forge")
    median, best = _timed(
        lambda: subprocess.run([forge, "render", str(REPO)], check=True, capture_output=True, timeout=120), 3
    )
    print(f"forge render (process, incl. startup): median {median * 1000:.0f} ms, best {best * 1000:.0f} ms")


def make_tree(root: Path, files: int, size: int) -> None:
    """A service whose build context has `files` files of `size` bytes in 20 directories, plus ignored noise."""
    (root / "service.yaml").write_text("name: bench\n")
    (root / "Dockerfile").write_text("FROM scratch\nCOPY . /app\n")
    (root / ".dockerignore").write_text("k8s/\n**/*.pyc\n")
    payload = bytes(range(256)) * (size // 256 + 1)
    for i in range(files):
        directory = root / "src" / f"pkg{i % 20}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"mod{i}.py").write_bytes(payload[:size] + str(i).encode())
        if i % 10 == 0:
            (directory / f"mod{i}.pyc").write_bytes(b"ignored")


def bench_version(files: int = 2000, size: int = 4096, runs: int = 5) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "bench"
        root.mkdir()
        make_tree(root, files, size)
        (container,) = load_service(root / "service.yaml").containers
        median, best = _timed(lambda: container_version(container, {"BASE_IMAGE": "x"}), runs)
        megabytes = files * size / 1e6
        print(f"version hashing: {files} files ({megabytes:.1f} MB, .dockerignore'd extras skipped): "
              f"median {median * 1000:.0f} ms, best {best * 1000:.0f} ms -> {files / median:,.0f} files/s, "
              f"{megabytes / median:.1f} MB/s")


def main() -> None:
    bench_render()
    bench_version()


if __name__ == "__main__":
    main()
