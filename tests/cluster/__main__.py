"""python -m tests.cluster up|shell [--keep]: a local cluster by hand.

up     start it, print `export KUBECONFIG=...`, keep it running until Ctrl-C (or SIGTERM)
shell  start it and open $SHELL with KUBECONFIG set; the cluster stops when the shell exits
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading

from .launcher import LocalCluster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.cluster", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["up", "shell"])
    parser.add_argument("--keep", action="store_true", help="keep the data dir (logs, etcd) at the end")
    args = parser.parse_args(argv)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("starting the local cluster ...", file=sys.stderr, flush=True)
    with LocalCluster(keep_data=args.keep) as cluster:
        print(
            f"cluster up in {cluster.startup_seconds:.1f} s; data and logs in {cluster.data_dir}",
            file=sys.stderr,
            flush=True,
        )
        if args.command == "shell":
            shell = os.environ.get("SHELL", "/bin/bash")
            print(f"KUBECONFIG={cluster.kubeconfig}; exit the shell to stop the cluster", file=sys.stderr)
            return subprocess.call([shell], env=cluster.env)
        print(f"export KUBECONFIG={cluster.kubeconfig}", flush=True)
        print("Ctrl-C stops the cluster", file=sys.stderr, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        print("stopping ...", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
