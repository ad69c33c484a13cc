"""Classroom commands on the local control plane with 10 simulated (kwok) nodes: `class up` for 50 seats, the
re-run (nothing changes), `class status` (goal: 5 s for 50 seats) and, interleaved with it, the portal's grid page
(goal: 2 s; portal_bench.py), `class reset` of one seat with the participant's objects of page 9 in it, and `class
down`. Each timed as `shopbox-class` runs them (a process each); status several times (medians).

Run: .venv/bin/python -m tests.bench.class_bench   (prints numbers)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from tests.bench import portal_bench
from tests.classroom.rendered import in_a_seat
from tests.cluster.launcher import LocalCluster, build_binaries

SEATS = 50
NODES = 10
STATUS_RUNS = 5


def timed(cluster: LocalCluster, workdir: Path, *args: str) -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "classroom", "--class", "bench", *args], cwd=workdir, env=cluster.env,
                   check=True, capture_output=True, text=True, timeout=900)
    return time.perf_counter() - began


def participant_objects(cluster: LocalCluster, namespace: str) -> None:
    """What page 9 leaves in a seat: every service forge renders (as the instructor: this measures the reset)."""
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(in_a_seat(namespace)), timeout=120)


def main() -> None:
    build_binaries()
    with LocalCluster(nodes=NODES) as cluster, tempfile.TemporaryDirectory(prefix="class-bench-") as tmp:
        workdir = Path(tmp)
        up = timed(cluster, workdir, "up", str(SEATS), "--hours", "2")
        again = timed(cluster, workdir, "up", str(SEATS))
        status = [timed(cluster, workdir, "status") for _ in range(STATUS_RUNS)]
        portal_bench.grid_against_status(cluster.env, workdir, "bench", SEATS,
                                         lambda: timed(cluster, workdir, "status"))
        participant_objects(cluster, "bench-seat-01")
        reset = timed(cluster, workdir, "reset", "seat-01")
        down = timed(cluster, workdir, "down")
    print(f"class up, {SEATS} seats on {NODES} kwok nodes: {up:.1f} s; again (nothing changes): {again:.1f} s "
          f"({again / up:.2f}x)")
    print(f"class status, {SEATS} seats: median {statistics.median(status):.2f} s, max {max(status):.2f} s over "
          f"{STATUS_RUNS} runs (goal: 5 s)")
    print(f"class reset of a seat holding page 9's objects: {reset:.1f} s; class down: {down:.1f} s")


if __name__ == "__main__":
    main()
