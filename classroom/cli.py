"""`shopbox-class`: the instructor's class commands (`./shopbox.sh class ...` runs them in the shell image).

Exit status 0 ok, 1 failure (one line: `shopbox-class: error: ...`), 2 bad usage or input.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from classroom import down, joinfile, names, registry, rehearse_command, reset, sizes, status, up
from classroom.api import ClassAPI, KubeClassAPI
from classroom.errors import ClassError, UsageError
from classroom.joined.cli import ClusterSeatReader
from classroom.model import Registry, timestamp
from classroom.portal import command as portal_command
from forge.errors import ForgeError
from versions_env import REPOSITORY_FILE, VersionsError, read_versions

EPILOG = """\
examples:
  shopbox-class up 30 --until 17:30            30 seats (seat-01 ... seat-30) until 17:30 today
  shopbox-class up --names room.txt --hours 6  one seat per name in room.txt (one a line)
  shopbox-class add zoe                        a late joiner
  shopbox-class status                         where every seat is
  shopbox-class reset seat-07                  that seat's cluster state back to the start
  shopbox-class down                           everything of the class, then check nothing is left
  shopbox-class portal --add-seats 5           the portal: seats claimed with an event code, the progress grid
  shopbox-class diagnose seat-07               what differs between seat-07 and the solve of the step it fails
  shopbox-class rehearse --seats 3             3 synthetic seats through pages 3-9 at once: sizes for the class
"""


def _log(message: str) -> None:
    print(f"shopbox-class: {message}", file=sys.stderr, flush=True)


def parse_until(text: str, now: datetime) -> datetime:
    """HH:MM (today, local time) or an ISO 8601 time (local time when it names no zone)."""
    try:
        if len(text) <= 5 and ":" in text:
            hour, minute = (int(part) for part in text.split(":"))
            moment = now.astimezone().replace(hour=hour, minute=minute, second=0, microsecond=0)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.astimezone()
    except ValueError:
        raise UsageError(f"--until {text!r}: expected HH:MM or an ISO 8601 time (2026-05-04T17:30+02:00)") from None
    if moment <= now:
        raise UsageError(f"--until {text}: {timestamp(moment)} has passed")
    return moment.astimezone(UTC)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="shopbox-class", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="A class on one shared cluster: a seat (namespace, credentials, registry, join file) per "
        "participant. Runs against the current context of KUBECONFIG (or ~/.kube/config).")
    p.add_argument("--class", dest="klass", default=os.environ.get("SHOPBOX_CLASS") or names.DEFAULT_CLASS,
                   help="the class's name: its namespace, and every seat's namespace's prefix (default: "
                   "$SHOPBOX_CLASS, else shopbox)")
    p.add_argument("--context", help="kubeconfig context (default: the current one)")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="COMMAND")

    def seat_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--out", type=Path, help="directory of the join files (default: ./class-CLASS)")
        sub.add_argument("--registry-file", type=Path, metavar="FILE",
                         help="an existing registry: each seat's prefix and credentials (YAML, see docs/instructor.md)")
        sub.add_argument("--registry-image", help="the per-seat registries' image (default: REGISTRY_IMAGE of "
                         "versions.env)")

    sub = verbs.add_parser("up", help="create or update the class: N seats, or one per name in FILE")
    sub.add_argument("count", nargs="?", type=int, metavar="N", help="number of seats: seat-01 ... seat-N")
    sub.add_argument("--names", type=Path, metavar="FILE", help="seat names, one a line (# comments)")
    when = sub.add_mutually_exclusive_group()
    when.add_argument("--until", metavar="TIME", help="when the class ends: HH:MM today or an ISO 8601 time "
                      f"(default: the class's end, or {up.DEFAULT_HOURS} hours from the first class up)")
    when.add_argument("--hours", type=float, help="the class ends this many hours from now")
    sub.add_argument("--server", metavar="URL", help="the API server URL the join files name, as the participants' "
                     "laptops reach it (default: the kubeconfig's)")
    sub.add_argument("--sizes", type=Path, metavar="FILE", help="each seat's quota from class rehearse's measurement "
                     "(class-sizes.yaml; default: the class's, else classroom/sizes.py's)")
    seat_options(sub)
    sub = verbs.add_parser("add", help="one more seat, for a late joiner")
    sub.add_argument("seat", metavar="NAME")
    seat_options(sub)
    sub = verbs.add_parser("reset", help="one seat's cluster state back to the start (other seats untouched)")
    sub.add_argument("seat", metavar="SEAT")
    sub.add_argument("--registry-image", help=argparse.SUPPRESS)
    verbs.add_parser("down", help="delete everything of the class and check that nothing is left")
    sub = verbs.add_parser("status", help="a table: per seat the step reached, pods, restarts, quota, last activity")
    sub.add_argument("-o", "--output", choices=("table", "json"), default="table")
    portal_command.add_arguments(verbs)
    rehearse_command.add_arguments(verbs)
    sub = verbs.add_parser("join-check", help="check a join file against its cluster (format, expiry, identity)")
    sub.add_argument("file", type=Path, metavar="FILE")
    return p


def _registry_image(given: str | None) -> str:
    if given:
        return given
    path = Path(os.environ.get("SHOPBOX_VERSIONS_FILE") or REPOSITORY_FILE)
    return read_versions(path).get("REGISTRY_IMAGE", "")


def _seat_names(args: argparse.Namespace) -> list[str]:
    if args.verb == "add":
        return [names.check_seat_name(args.seat)]
    if (args.count is None) == (args.names is None):
        raise UsageError("class up needs the number of seats N or --names FILE (one of them)")
    return names.read_names(args.names) if args.names else names.numbered(args.count)


def _registries(args: argparse.Namespace) -> tuple[str, dict[str, Registry] | None]:
    """The per-seat registries' image, or the external registry's entries (--registry-file) for new seats."""
    if args.registry_file:
        return "", registry.read_external(args.registry_file)
    return _registry_image(args.registry_image), None


def _up(api: ClassAPI, args: argparse.Namespace, now: datetime) -> int:
    seat_names = _seat_names(args)
    ends = None
    if args.verb == "up" and args.until:
        ends = parse_until(args.until, now)
    elif args.verb == "up" and args.hours is not None:
        if args.hours <= 0:
            raise UsageError(f"--hours {args.hours:g}: expected a positive number")
        ends = now + timedelta(hours=args.hours)
    image, external = _registries(args)
    measured = sizes.read_measured(args.sizes) if getattr(args, "sizes", None) else None
    opts = up.UpOptions(args.klass, seat_names, args.out or Path(f"class-{args.klass}"), ends,
                        getattr(args, "server", None), external, image, measured)
    started = time.monotonic()
    result = (up.add if args.verb == "add" else up.up)(api, opts, now, _log)
    rows = [("SEAT", "NAMESPACE", "REGISTRY", "JOIN FILE")] + [
        (s.seat, names.seat_namespace(args.klass, s.seat), s.registry,
         f"{s.join} ({'written' if s.written else 'kept'})") for s in result.seats]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    print("\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows))
    written = sum(s.written for s in result.seats)
    _log(f"class {args.klass}: {len(result.seats)} seats until {result.spec.ends_text()} in "
         f"{time.monotonic() - started:.1f} s; objects: {result.objects}; join files: {written} written, "
         f"{len(result.seats) - written} kept" + ("; nothing changed" if result.unchanged else ""))
    return 0


def run(args: argparse.Namespace, api: ClassAPI, now: datetime) -> int:
    if args.verb in ("up", "add"):
        return _up(api, args, now)
    if args.verb == "reset":
        found = reset.reset(api, args.klass, args.seat, _registry_image(args.registry_image), _log)
        _log(f"seat {found.seat}: {found.deleted} objects deleted, the seat's own re-applied ({found.objects})")
        return 0
    if args.verb == "portal":
        return portal_command.portal(api, args, *_registries(args), _log)
    if args.verb == "diagnose":
        return portal_command.diagnose(api, args)
    if args.verb == "rehearse":
        return rehearse_command.run(api, args, *_registries(args), now, _log)
    if args.verb == "down":
        count = down.down(api, args.klass, _log)
        _log(f"class {args.klass}: {count} namespaces deleted; nothing of the class is left")
        return 0
    started = time.monotonic()
    rows = status.status(api, args.klass)
    print(status.as_json(rows) if args.output == "json" else status.table(rows, now))
    _log(f"class {args.klass}: {len(rows)} seats read in {time.monotonic() - started:.2f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    now = datetime.now(UTC)
    try:
        names.check_class_name(args.klass)
        if args.verb == "join-check":
            join = joinfile.load(args.file, now)
            joinfile.verify(join, ClusterSeatReader())
            print(f"{args.file}: seat {join.seat} of class {join.klass} on cluster {join.cluster_id} at {join.server}, "
                  f"namespace {join.namespace}, until {timestamp(join.expires)}")
            return 0
        return run(args, KubeClassAPI.connect(args.context), now)
    except ClassError as err:
        print(f"shopbox-class: error: {err}", file=sys.stderr)
        return err.exit_code
    except (ForgeError, VersionsError) as err:
        print(f"shopbox-class: error: {err}", file=sys.stderr)
        return 1
