"""Local control plane benchmark: warm start (binaries built) to a healthy API with a Ready node, and stop.

Run: .venv/bin/python -m tests.bench.cluster_bench   (prints numbers; target: warm start under 20 s)
"""

from __future__ import annotations

import statistics
import time

from tests.cluster.launcher import LocalCluster, build_binaries


def bench_warm_start(runs: int = 3) -> None:
    build_binaries()  # cold build is not what this measures
    starts, stops = [], []
    for _ in range(runs):
        cluster = LocalCluster()
        cluster.start()
        starts.append(cluster.startup_seconds)
        began = time.perf_counter()
        cluster.stop()
        stops.append(time.perf_counter() - began)
    print(f"cluster warm start: median {statistics.median(starts):.1f} s, min {min(starts):.1f} s "
          f"over {runs} runs (target < 20 s); stop: median {statistics.median(stops):.1f} s")


def main() -> None:
    bench_warm_start()


if __name__ == "__main__":
    main()
