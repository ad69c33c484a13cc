"""`shopbox-class portal` (start the portal for a class that is up) and `shopbox-class diagnose SEAT [STEP]` (the
stuck diagnosis on the terminal)."""

from __future__ import annotations

import argparse
import secrets
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from classroom import facts, progress
from classroom.api import ClassAPI
from classroom.errors import ClassError, UsageError
from classroom.model import Registry
from classroom.names import check_seat_name, seat_namespace
from classroom.portal.backend import AddPolicy, Backend
from exercises.lab import course
from exercises.lab.page import Page

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off a screen or a card
DEFAULT_PORT = 8000


def add_arguments(verbs: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sub = verbs.add_parser("portal", help="the web portal: participants claim seats; the instructor's progress "
                           "grid, stuck diagnosis and printable cards")
    sub.add_argument("--code", help="the event code participants type (default: a new random one, printed)")
    sub.add_argument("--host", default="0.0.0.0", help="address to listen on (default: every address)")
    sub.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})")
    sub.add_argument("--url", help="the portal's address as participants type it, for the cards (default: this "
                     "machine's address and --port)")
    sub.add_argument("--add-seats", type=int, default=0, metavar="N",
                     help="seats the portal may add (as class add) when every seat is claimed (default: 0)")
    sub.add_argument("--out", type=Path, help="directory of the join files (default: ./class-CLASS)")
    sub.add_argument("--registry-file", type=Path, metavar="FILE", help="for added seats: as class add's")
    sub.add_argument("--registry-image", help="for added seats: as class add's")
    sub = verbs.add_parser("diagnose", help="what differs between a seat's objects and a step's solve (a "
                           "server-side dry run; nothing changes)")
    sub.add_argument("seat", metavar="SEAT")
    sub.add_argument("step", nargs="?", metavar="STEP", help="N.M (default: the step the seat's checks fail at)")


def new_code() -> str:
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(3)) for _ in range(2))


def _address() -> str:
    """This machine's address on the network participants reach it by (the default route's), else localhost."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))  # no packet is sent
            return str(probe.getsockname()[0])
    except OSError:
        return "localhost"


def _pages() -> tuple[Path, list[Page]]:
    directory = course.pages_dir()
    try:
        return directory.parent, course.load(directory)
    except course.UsageError as err:
        raise UsageError(f"{err} (run the portal from the workshop's directory)") from None


def portal(api: ClassAPI, args: argparse.Namespace, registry_image: str, external: dict[str, Registry] | None,
           log: Callable[[str], None]) -> int:
    from classroom.portal.app import Settings, create_app
    from classroom.portal.serve import serve

    facts.require_record(api, args.klass)
    if args.add_seats < 0:
        raise UsageError(f"--add-seats {args.add_seats}: expected 0 or more")
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: expected a port number")
    root, pages = _pages()
    out = args.out or Path(f"class-{args.klass}")
    backend = Backend(api, args.klass, out, root, pages, AddPolicy(args.add_seats, registry_image, external))
    claimable = backend.claimable()
    if not claimable and not args.add_seats:
        raise ClassError(f"{out}: no join files of class {args.klass}'s seats there (class up writes them; pass --out)")
    shown = args.url or f"http://{_address() if args.host in ('0.0.0.0', '::') else args.host}:{args.port}/"
    settings = Settings(args.klass, args.code or new_code(), secrets.token_urlsafe(18), shown)
    log(f"portal for class {args.klass} ({len(claimable)} seats with join files, {args.add_seats} more may be "
        f"added) on {shown}")
    log(f"event code: {settings.code}")
    log(f"instructor: {shown.rstrip('/')}/instructor/login?key={settings.key}")
    serve(create_app(settings, backend), args.host, args.port)
    return 0


def diagnose(api: ClassAPI, args: argparse.Namespace) -> int:
    seat = check_seat_name(args.seat)
    root, pages = _pages()
    backend = Backend(api, args.klass, Path("."), root, pages)
    step = args.step
    if not step:
        record = progress.parse(api.get("v1", "ConfigMap", seat_namespace(args.klass, seat), progress.NAME))
        if not record.failing:
            raise UsageError(f"seat {seat} fails no step (its progress record names none): name the step, e.g. "
                             f"diagnose {seat} 5.2")
        step = record.failing
    print(backend.diagnose(seat, step).text())
    sys.stdout.flush()
    return 0
