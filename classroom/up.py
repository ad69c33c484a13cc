"""`class up` and `class add`: the class's objects, each seat's objects and registry, and a join file per seat.

Everything that can be wrong with the input is checked before the first object is applied (names, duplicates,
namespaces that are someone else's, the registry file, the end time, the join-file directory); then the class
namespace, its record and the admission policy, then the seats, several at a time. Re-running changes nothing
(server-side apply of the same objects; the registry passwords and the join files are reused while valid).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import yaml

from classroom import joinfile, policy, registry, seat, sizes
from classroom.api import ClassAPI
from classroom.applier import Applier, snapshot
from classroom.errors import ClassError, UsageError
from classroom.facts import (
    MODE_EXTERNAL,
    MODE_PER_SEAT,
    Record,
    api_endpoints,
    class_namespace_object,
    cluster_id,
    owned_by,
    read_record,
    require_record,
    seats,
)
from classroom.model import ClassSpec, Registry, timestamp
from classroom.names import class_namespace, seat_namespace

Say = Callable[[str], None]
DEFAULT_HOURS = 8
MIN_LEFT = timedelta(minutes=10)  # TokenRequest's shortest lifetime
WORKERS = 8  # seats applied at once
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class UpOptions:
    klass: str
    seats: list[str]
    out: Path  # the join files' directory
    ends: datetime | None = None  # None: the class's current end, or DEFAULT_HOURS from now for a new class
    server: str | None = None  # the API server URL for join files (default: the instructor's kubeconfig's)
    external: dict[str, Registry] | None = None  # --registry-file: seat -> registry
    registry_image: str = ""
    quota: dict[str, str] | None = None  # --sizes: measured quota entries (None: the class's, else sizes.QUOTA's)


@dataclass
class SeatResult:
    seat: str
    registry: str
    join: Path
    written: bool


@dataclass
class UpResult:
    spec: ClassSpec
    seats: list[SeatResult] = field(default_factory=list)
    objects: str = ""  # "N created, N changed, N unchanged"
    unchanged: bool = False


def join_path(out: Path, seat_name: str) -> Path:
    return out / f"{seat_name}.yaml"


def _record(api: ClassAPI, opts: UpOptions, now: datetime, existing: Record | None) -> Record:
    mode = MODE_EXTERNAL if opts.external is not None else MODE_PER_SEAT
    if existing and existing.registry != mode:
        raise UsageError(f"class {opts.klass} uses {existing.registry} registries: "
                         + ("pass --registry-file" if existing.registry == MODE_EXTERNAL else
                            "it was set up without --registry-file"))
    ends = opts.ends or (existing.ends if existing else now + timedelta(hours=DEFAULT_HOURS))
    if ends - now < MIN_LEFT:
        raise UsageError(f"the class ends at {timestamp(ends)}: that is less than {MIN_LEFT.seconds // 60} minutes "
                         "from now (set a later end with --until or --hours)")
    server = opts.server or (existing.server if existing else api.server)
    quota = opts.quota if opts.quota is not None else (existing.quota if existing else None)
    return Record(opts.klass, ends, existing.cluster_id if existing else cluster_id(api), server, mode, quota)


def _check_input(api: ClassAPI, opts: UpOptions, record: Record) -> None:
    if record.registry == MODE_PER_SEAT and not opts.registry_image:
        raise UsageError("no registry image for the seats' registries (REGISTRY_IMAGE in versions.env)")
    if opts.external is not None:
        missing = [s for s in opts.seats if s not in opts.external]
        if missing:
            raise UsageError(f"the registry file has no entry for seat(s) {', '.join(missing)}")
    for name in opts.seats:
        found = api.get("v1", "Namespace", "", seat_namespace(opts.klass, name))
        if found is not None and not owned_by(found, opts.klass):
            raise UsageError(f"seat {name}: namespace {seat_namespace(opts.klass, name)} exists and is not class "
                             f"{opts.klass}'s: choose another seat name")
    try:
        opts.out.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as err:
        raise UsageError(f"{opts.out}: cannot create the join files' directory: {err.strerror}") from None


def class_spec(api: ClassAPI, record: Record, registry_image: str) -> ClassSpec:
    return ClassSpec(name=record.klass, ends=record.ends, cluster_id=record.cluster_id, server=record.server,
                     ca_data=api.ca_data(), registry_image=registry_image, api_endpoints=api_endpoints(api),
                     quota=sizes.seat_quota(record.quota))


def ensure_registry(api: ClassAPI, applier: Applier, spec: ClassSpec, mode: str, name: str,
                    external: Registry | None) -> Registry:
    """The seat's registry objects applied; its coordinates. Passwords already there are kept."""
    stored = registry.secret_data(api.get("v1", "Secret", class_namespace(spec.name), registry.registry_name(name)))
    if mode == MODE_EXTERNAL:
        if external is None:
            if not stored.get("registry"):
                raise ClassError(f"seat {name}: no registry for it (pass --registry-file with an entry for it)")
            external = Registry(stored["registry"], stored["username"], stored["password"])
        applier.apply(registry.external_secret(spec, name, external))
        return external
    username = name
    password = stored.get("password", "")
    line = stored.get("htpasswd", "")
    if not (password and registry.htpasswd_matches(line, username, password)):
        password = registry.new_password()
        line = registry.htpasswd(username, password)
    applier.apply(registry.secret(spec, name, username, password, line))
    applier.apply(registry.statefulset(spec, name))
    service = applier.apply(registry.service(spec, name))
    for obj in registry.seat_access(spec, name):
        applier.apply(obj)
    node_port = int(service["spec"]["ports"][0]["nodePort"])
    return registry.seat_registry(name, node_port, username, password)


def provision_seat(api: ClassAPI, applier: Applier, spec: ClassSpec, mode: str, name: str,
                   external: Registry | None) -> Registry:
    """A seat's registry and namespace objects, applied (also what `class reset` restores)."""
    found = ensure_registry(api, applier, spec, mode, name, external)
    for obj in seat.seat_objects(spec, name, found):
        applier.apply(obj)
    return found


def _reusable(path: Path, spec: ClassSpec, name: str, found: Registry, account_uid: str) -> bool:
    """The join file there is still right: same class, seat, cluster, registry, a token of this very
    ServiceAccount valid until the class's end."""
    try:
        old = yaml.safe_load(path.read_text(encoding="utf-8"))
        token = old["kubeconfig"]["users"][0]["user"]["token"]
        expires = joinfile.Join(path, old).expires
    except (OSError, ValueError, yaml.YAMLError, KeyError, IndexError, TypeError):
        return False
    claims = joinfile.token_claims(token)
    token_uid = ((claims.get("kubernetes.io") or {}).get("serviceaccount") or {}).get("uid")
    fresh = joinfile.build(spec, name, seat_namespace(spec.name, name), found, token, expires)
    return old == fresh and token_uid == account_uid and expires >= spec.ends - timedelta(minutes=1)


def ensure_join(api: ClassAPI, spec: ClassSpec, name: str, found: Registry, path: Path, now: datetime,
                say: Say) -> bool:
    """The seat's join file, kept when still right, else with a new token; True when it was written."""
    namespace = seat_namespace(spec.name, name)
    account = api.get("v1", "ServiceAccount", namespace, seat.SEAT_ACCOUNT) or {}
    if _reusable(path, spec, name, found, str((account.get("metadata") or {}).get("uid"))):
        return False
    token, expires = api.create_token(namespace, seat.SEAT_ACCOUNT, int((spec.ends - now).total_seconds()))
    if expires < spec.ends - timedelta(minutes=1):
        say(f"note: seat {name}: the API server caps token lifetimes: its join file expires at {timestamp(expires)}, "
            f"before the class ends ({spec.ends_text()}); re-run class up then for new join files")
    return joinfile.write(path, joinfile.build(spec, name, namespace, found, token, expires))


def _seat(api: ClassAPI, applier: Applier, spec: ClassSpec, record: Record, opts: UpOptions, name: str,
          now: datetime, say: Say) -> SeatResult:
    try:
        external = (opts.external or {}).get(name)
        found = provision_seat(api, applier, spec, record.registry, name, external)
        path = join_path(opts.out, name)
        return SeatResult(name, found.name, path, ensure_join(api, spec, name, found, path, now, say))
    except ClassError as err:
        raise ClassError(f"seat {name}: {err}") from None


def up(api: ClassAPI, opts: UpOptions, now: datetime, say: Say) -> UpResult:
    existing = read_record(api, opts.klass)
    record = _record(api, opts, now, existing)
    _check_input(api, opts, record)
    if urlparse(record.server).hostname in LOOPBACK:
        say(f"note: the join files name the API server {record.server}, which only this machine reaches; for a "
            "room, pass --server with an address of it the participants' laptops reach (and its certificate names)")
    applier = Applier(api, snapshot(api, opts.klass))
    applier.apply(class_namespace_object(opts.klass))
    applier.apply(record.configmap())
    applier.apply(policy.admission_policy(opts.klass))
    applier.apply(policy.admission_binding(opts.klass))
    spec = class_spec(api, record, opts.registry_image)
    result = UpResult(spec)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(_seat, api, applier, spec, record, opts, name, now, say) for name in opts.seats]
        result.seats = [future.result() for future in futures]
    result.objects = applier.summary()
    result.unchanged = not applier.changed and not any(s.written for s in result.seats)
    return result


def add(api: ClassAPI, opts: UpOptions, now: datetime, say: Say) -> UpResult:
    """One more seat (opts.seats: its name) in an existing class, with the class's end and registry mode."""
    record = require_record(api, opts.klass)
    (name,) = opts.seats
    if name in seats(api, opts.klass):
        raise UsageError(f"seat {name} exists already in class {opts.klass} (class up re-applies existing seats)")
    if opts.ends is not None:
        raise UsageError("class add takes the class's end time; change it for every seat with class up --until")
    return up(api, UpOptions(opts.klass, [name], opts.out, record.ends, record.server, opts.external,
                             opts.registry_image, record.quota), now, say)
