"""The workshop path on a real kind cluster: `./shopbox.sh` to a command in the shell, cold (cluster created) and
warm (reused), and `forge deploy` of every service, cold (images built and pushed, pods rolled out) and warm
(nothing to build). One run each (a cold start happens once); the `workshop` test tier prints the canary numbers.

Run: .venv/bin/python -m tests.bench.workshop_bench
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from tests.workshop.fixtures import workshop_session


def timed(action) -> float:  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="shopbox-bench-") as tmp, workshop_session(Path(tmp)) as ws:
        cold = timed(lambda: ws.run("true"))
        warm = timed(lambda: ws.run("true"))
        ws.ensure_cluster()
        ws.run("forge", "setup", "--yes")
        deploy_cold = timed(lambda: ws.run("forge", "deploy", "--timeout", "300s"))
        deploy_warm = timed(lambda: ws.run("forge", "deploy", "--timeout", "300s"))
    print(f"./shopbox.sh run -- true: cold {cold:.1f} s (kind cluster + registry created), warm {warm:.1f} s")
    print(f"forge deploy (qotm, auth, envoy, prometheus): cold {deploy_cold:.1f} s, warm {deploy_warm:.1f} s")


if __name__ == "__main__":
    main()
