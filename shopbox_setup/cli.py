"""`shopbox-setup VERB`: run by `./shopbox.sh` in a throwaway shopbox container (see the package docstring)."""

from __future__ import annotations

import argparse
import os
import sys

from shopbox_setup import bundle, cluster, doctor, settings
from shopbox_setup.runner import Commands, SetupError
from versions_env import VersionsError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shopbox-setup", description="The kind cluster and registry of ./shopbox.sh. "
                                "SHOPBOX_DRY_RUN=1 prints each change as `+ cmd` instead of making it.")
    verbs = p.add_subparsers(dest="verb", required=True)
    verbs.add_parser("up", help="create or reuse registry and cluster; print the internal kubeconfig")
    verbs.add_parser("local", help="the registry and the kind network, no cluster (a joined seat's pages 1-2)")
    verbs.add_parser("down", help="remove the cluster, the seats' forwarders, the registry and the kind network")
    pre = verbs.add_parser("prefetch", help="pull the pinned images; print them and IMAGE, one per line")
    pre.add_argument("image", metavar="IMAGE", help="the shell image, saved into the bundle too")
    verbs.add_parser("load", help="up, then the pinned images into the node and the registry")
    verbs.add_parser("doctor", help="the in-cluster checks of ./shopbox.sh doctor (SHOPBOX_HOST: where the host's "
                     "ports are, default 127.0.0.1)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    runner = Commands(dry_run=bool(os.environ.get("SHOPBOX_DRY_RUN")))
    try:
        s = settings.from_env()
        if args.verb == "up":
            cluster.up(runner, s)
        elif args.verb == "local":
            cluster.local(runner, s)
        elif args.verb == "down":
            cluster.down(runner, s)
        elif args.verb == "prefetch":
            images = bundle.prefetch(runner, s, args.image)
            if not runner.dry_run:
                print("\n".join(images))
        elif args.verb == "load":
            bundle.load(runner, s)
        else:
            for check in doctor.checks(runner, s, host=os.environ.get("SHOPBOX_HOST") or "127.0.0.1"):
                print(check.lines())
    except (SetupError, VersionsError) as err:
        print(f"shopbox: error: {err}", file=sys.stderr)
        return 1
    return 0
