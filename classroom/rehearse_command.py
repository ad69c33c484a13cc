"""`shopbox-class rehearse --seats N`: the rehearsal class up, its seats through the pages in joined shells, the
report and class-sizes.yaml, the rehearsal class down (classroom/rehearse.py does the work)."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from classroom import down, names, rehearse, up
from classroom.api import ClassAPI
from classroom.errors import UsageError
from classroom.model import Registry

SIZES_FILE = Path("class-sizes.yaml")
REPORT = "report.txt"  # in the rehearsal's directory, beside the seats' logs
HOURS = 3  # the rehearsal's seats' tokens last this long
VERSIONS_ENV = "SHOPBOX_REHEARSE_VERSIONS_FILE"  # set by ./shopbox.sh class rehearse
SEAT_LABEL = "io.shopbox.seat"  # on a joined seat's forwarder container (./shopbox.sh join)


def add_arguments(verbs: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sub = verbs.add_parser("rehearse", help="N synthetic seats through the solves of pages 3-9 at once, measured: "
                           "per seat and total peaks, pulls, times; the seat quota and the nodes for the class")
    sub.add_argument("--seats", type=int, required=True, metavar="N", help="synthetic seats, run at the same time")
    sub.add_argument("--pages", default="3-9", help="pages to solve (default: 3-9)")
    sub.add_argument("--class-size", type=int, default=30, metavar="N",
                     help="the real class's seats, for the node plan (default: 30)")
    sub.add_argument("--interval", type=float, default=5.0, metavar="SECONDS", help="between samples (default: 5)")
    sub.add_argument("--keep", action="store_true", help="keep the rehearsal class afterwards (class "
                     f"--class {rehearse.CLASS} down removes it)")
    sub.add_argument("--shell-rc", type=Path, metavar="FILE", help="a file of the workshop's directory that every "
                     "seat's shell sources before the solves (e.g. a docker wrapper for a registry mirror)")
    sub.add_argument("--server", metavar="URL", help="as class up's")
    sub.add_argument("--registry-file", type=Path, metavar="FILE", help="as class up's (entries seat-01 ...)")
    sub.add_argument("--registry-image", help=argparse.SUPPRESS)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop_forwarders(seats: list[str], say: Callable[[str], None]) -> None:
    """The joined seats' forwarder containers (./shopbox.sh join keeps one per seat running)."""
    for seat in seats:
        found = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={SEAT_LABEL}={rehearse.CLASS}/{seat}"],
                               capture_output=True, text=True, check=False, timeout=60).stdout.split()
        if found:
            subprocess.run(["docker", "rm", "-f", *found], capture_output=True, check=False, timeout=120)
            say(f"seat {seat}: its forwarder container removed")


def shell_rc(path: Path, root: Path) -> str:
    """--shell-rc FILE as a path relative to the workshop's directory (each seat's shell sees only its copy)."""
    found = (root / path).resolve()
    if not found.is_file():
        raise UsageError(f"--shell-rc {path}: no such file")
    if not found.is_relative_to(root.resolve()):
        raise UsageError(f"--shell-rc {path}: not in the workshop's directory {root} (the seats' shells see only "
                         "their copy of it)")
    return str(found.relative_to(root.resolve()))


def run(api: ClassAPI, args: argparse.Namespace, registry_image: str, external: dict[str, Registry] | None,
        now: datetime, say: Callable[[str], None]) -> int:
    if args.seats < 1 or args.class_size < 1 or args.interval <= 0:
        raise UsageError("--seats and --class-size take a number of at least 1, --interval a positive number")
    pages = rehearse.parse_pages(args.pages)
    root = Path.cwd()
    if not (root / "shopbox.sh").is_file() or not (root / "exercises").is_dir():
        raise UsageError(f"{root}: not the workshop's directory (no shopbox.sh and exercises/): run it from there")
    rc = shell_rc(args.shell_rc, root) if args.shell_rc else ""
    seats = names.numbered(args.seats)
    workdir = Path(f"class-{rehearse.CLASS}")
    opts = up.UpOptions(rehearse.CLASS, seats, workdir, now + timedelta(hours=HOURS), args.server, external,
                        registry_image)
    ports = {seat: (free_port(), free_port()) for seat in seats}
    environ = dict(os.environ)
    if environ.get(VERSIONS_ENV):  # ./shopbox.sh class rehearse: the versions file at its path on the host
        environ["SHOPBOX_VERSIONS_FILE"] = environ[VERSIONS_ENV]
    runner = rehearse.JoinedShell(root, workdir / "work", ports.__getitem__, environ, rc)
    try:
        say(f"rehearsal: class {rehearse.CLASS} up with {len(seats)} seats")
        up.up(api, opts, now, say)
        found = rehearse.rehearse(api, seats, workdir, runner, pages, args.interval, workdir / "logs", say)
    finally:
        stop_forwarders(seats, say)
        if not args.keep:
            down.down(api, rehearse.CLASS, say)
    text, measured = rehearse.report(found, pages, args.class_size)
    print(text, flush=True)
    (workdir / REPORT).write_text(text + "\n", encoding="utf-8")
    failed = sum(len(r.failures) for r in found.seats)
    if failed:
        say(f"{SIZES_FILE} not written: {failed} failures (a seat that stopped early measures too small)")
        return 1
    rehearse.write_sizes(SIZES_FILE, measured)
    say(f"wrote {SIZES_FILE}: class up --sizes {SIZES_FILE} sizes the seats' quota from it")
    return 0
