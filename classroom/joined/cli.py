"""`shopbox-join VERB FILE`: the participant's side of a seat, run by `./shopbox.sh join FILE` in the shell image.

  check FILE          the file's format and expiry, then the cluster's word that it holds this seat (with the seat's
                      own token); prints the KEY=VALUE settings ./shopbox.sh starts the containers with
  kubeconfig FILE     the seat's kubeconfig (the shell's entrypoint installs it as ~/.kube/config)
  docker-login FILE   the seat registry's credentials into ~/.docker/config.json (no network needed)
  forward FILE        keep the seat's port-forwards open (edge, Prometheus, registry) until stopped
  doctor FILE         the join's checks, one line each (./shopbox.sh join FILE doctor)

Errors are one line, `shopbox: error: ...`, exit status 1.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

from classroom import joinfile
from classroom.errors import ClassError
from classroom.joined import refused, seat
from classroom.joined.forward import ClusterTargets, KubectlLauncher, Listener, Supervisor, stamped
from forge.errors import ForgeError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shopbox-join", description="The participant's side of a classroom seat "
                                "(./shopbox.sh join FILE runs it in the shell image).")
    verbs = p.add_subparsers(dest="verb", required=True)
    for verb, text in (("check", "check the join file against its cluster; print the settings for ./shopbox.sh"),
                       ("kubeconfig", "print the seat's kubeconfig"),
                       ("docker-login", "store the seat registry's credentials in ~/.docker/config.json"),
                       ("forward", "keep the seat's port-forwards open until stopped"),
                       ("doctor", "check the join, one line each")):
        sub = verbs.add_parser(verb, help=text)
        sub.add_argument("file", type=Path, metavar="FILE", nargs="?", default=os.environ.get("SHOPBOX_JOIN"),
                         help="the seat's join file (default: $SHOPBOX_JOIN, the joined shell's copy)")
    return p


class ClusterSeatReader:
    """joinfile.SeatReader with the join file's own credentials; the API server's refusals and unreachability as
    one line naming the file."""

    def seat_info(self, join: joinfile.Join) -> dict[str, str] | None:
        try:
            found = seat.connect(join).get(joinfile.seat_info_path(join))
        except ForgeError as err:
            raise ClassError(f"{join.path}: {refused.explain(join, err).line()}") from None
        return None if found is None else dict(found.get("data") or {})


def check(path: Path, now: datetime, reader: joinfile.SeatReader) -> joinfile.Join:
    """The join file, loaded (format, expiry) and verified against its cluster (identity)."""
    join = joinfile.load(path, now)
    joinfile.verify(join, reader)
    return join


def _kubeconfig_file(join: joinfile.Join, directory: str) -> Path:
    path = Path(directory) / "kubeconfig"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(seat.kubeconfig_text(join))
    return path


def forward(join: joinfile.Join) -> None:
    """Listen on every forward's port and keep its tunnels, until SIGTERM/SIGINT (docker stop, Ctrl-C)."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log = stamped(lambda line: print(line, flush=True))
    with tempfile.TemporaryDirectory(prefix="shopbox-join-") as tmp:
        supervisor = Supervisor(seat.forwards(join), ClusterTargets(seat.connect(join)),
                                KubectlLauncher(_kubeconfig_file(join, tmp)), log)
        listeners = [Listener(supervisor.route(f)).open() for f in supervisor.forwards]
        for item in supervisor.forwards:
            log(f"listening: {item}")
        try:
            supervisor.run(stop)
        finally:
            for listener in listeners:
                listener.close()


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.file is None:
        p.error("no join file: give FILE, or run it in a joined shell (SHOPBOX_JOIN)")
    now = datetime.now(UTC)
    try:
        if args.verb == "doctor":
            from classroom.joined import doctor  # the registry and quota checks' clients: only here

            with tempfile.TemporaryDirectory(prefix="shopbox-join-") as tmp:
                found = list(doctor.checks(args.file, lambda join: doctor.ClusterProbe(
                    join, seat.connect(join), _kubeconfig_file(join, tmp)), now))
            print("\n".join(c.lines() for c in found))
            return 1 if any(c.status == "fail" for c in found) else 0
        if args.verb == "check":
            join = check(args.file, now, ClusterSeatReader())
            print("\n".join(f"{key}={value}" for key, value in seat.settings(join).items()))
            return 0
        join = joinfile.load(args.file, now)
        if args.verb == "kubeconfig":
            sys.stdout.write(seat.kubeconfig_text(join))
        elif args.verb == "docker-login":
            seat.docker_login(join, Path.home() / ".docker" / "config.json")
        else:
            forward(join)
    except ClassError as err:
        print(f"shopbox: error: {err}", file=sys.stderr)
        return err.exit_code
    return 0
