"""The workshop's stub auth service: an HTTP check service for Envoy's ext_authz filter.

One asyncio event loop, no web framework: Envoy asks before every request at the edge, so a check should cost
far less than the request it guards. `python auth.py` serves on $HOST:$PORT (default 0.0.0.0:8080).

For every request at the edge, Envoy first sends the same method and path, prefixed with /check, and the
request's Authorization header here. 200 lets the request through, and Envoy copies `x-authenticated-as` onto
the request it sends upstream; 401 or 403 turn it away with the reason in `x-auth-reason` (and a
`WWW-Authenticate` challenge on 401). GET /health is for Kubernetes and is never checked.

AUTH_MODE chooses who gets in:
  allow  (default) everyone, as "anonymous"
  token  `Authorization: Bearer TOKEN`; AUTH_TOKENS_FILE holds USER:TOKEN lines (mounted from a Secret)
  basic  `Authorization: Basic ...`; AUTH_USERS_FILE holds USER:HASH lines, HASH from `python auth.py hash USER`
Credentials are never logged, and never repeated in an error message.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import getpass
import hashlib
import hmac
import logging
import os
import re
import secrets
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

CHECK_PREFIX = "/check"  # Envoy's http_service.path_prefix
USER_HEADER = "x-authenticated-as"
REASON_HEADER = "x-auth-reason"
REALM = "shopbox"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")  # also safe as a header value
TOKEN = re.compile(r"[A-Za-z0-9._~+/-]+=*")  # RFC 6750 token68
PASSWORD_HASH = re.compile(r"(scrypt|pbkdf2):[^$\s]+\$[^$\s]+\$[0-9a-f]+")  # werkzeug.security's format
MAX_CREDENTIALS = 1024  # characters after the scheme: far more than any token or password we hand out

log = logging.getLogger("auth")


class ConfigError(Exception):
    """A setting that keeps the service from starting; the message is one line and holds no secret."""


@dataclass(frozen=True)
class Allow:
    user: str


@dataclass(frozen=True)
class Deny:
    status: int  # 401: no usable credentials (with a challenge), 403: credentials given but wrong, 429: busy
    reason: str
    challenge: str | None = None


Decision = Allow | Deny
Check = Callable[[str | None], Decision]  # the Authorization header (None when absent) -> decision


def allow_everyone(authorization: str | None) -> Decision:
    return Allow("anonymous")


def credentials(authorization: str | None, scheme: str) -> str | Deny:
    """The credentials part of `Authorization: <scheme> <credentials>`, or a 401 saying what is wrong."""
    challenge = f'{scheme} realm="{REALM}"'
    if not authorization or not authorization.strip():
        return Deny(401, "missing credentials", challenge)
    given, _, value = authorization.strip().partition(" ")
    value = value.strip()
    # Both schemes' credentials are printable ASCII (token68 or base64): anything else is malformed, not a 500.
    printable = value.isascii() and value.isprintable() and len(value) <= MAX_CREDENTIALS
    if given.lower() != scheme.lower() or not value or " " in value or not printable:
        return Deny(401, f"malformed credentials: expected 'Authorization: {scheme} ...'", challenge)
    return value


def sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


class TokenCheck:
    """Bearer tokens. Compared as sha256 digests in constant time, without stopping at the first match."""

    def __init__(self, tokens: Mapping[str, str]):  # user -> token
        self.digests = [(sha256(token), user) for user, token in tokens.items()]

    def __call__(self, authorization: str | None) -> Decision:
        token = credentials(authorization, "Bearer")
        if isinstance(token, Deny):
            return token
        digest = sha256(token)
        user = None
        for known, name in self.digests:
            if hmac.compare_digest(known, digest):
                user = name
        return Allow(user) if user else Deny(403, "invalid token")


class BasicCheck:
    """User names and passwords, checked against werkzeug password hashes.

    A password hash is slow and big on purpose: werkzeug's default scrypt takes 0.1-0.4 s of CPU and 32 MiB of
    memory per check, too much to pay on every request at the edge, or for every guess of a flood. So:
    - accepted credentials are remembered, under an HMAC with a key that lives only in this process, and
      answered without hashing again; wrong ones are never remembered, so every guess still costs a full hash;
    - one hash runs at a time: its 32 MiB fit the pod's 128 Mi limit next to the ~40 MiB of Python and Flask, and
      on the pod's half a CPU it takes at most ~0.8 s, inside the edge's 2 s wait for a check (a second one in
      parallel would only halve the CPU each gets). A check that finds the slot busy is turned away at once with
      429, before hashing: a flood of wrong passwords costs bounded memory and CPU, remembered users keep getting in.
    """

    REMEMBERED = 1024
    HASHES_AT_ONCE = 1
    blocking = True  # a check may take a hash's time: the server runs it on a thread
    BUSY = Deny(429, "too many password checks at once, try again")

    def __init__(self, users: Mapping[str, str]):  # user -> password hash
        self.users = dict(users)
        # Unknown users are checked against a hash made the same way, so they take as long as known ones.
        method = next(iter(self.users.values())).split("$", 1)[0]
        self.dummy_hash = generate_password_hash("not a password", method=method)
        self.key = secrets.token_bytes(32)
        self.accepted: dict[bytes, str] = {}  # HMAC of accepted credentials -> user
        self.hashing = threading.BoundedSemaphore(self.HASHES_AT_ONCE)

    def __call__(self, authorization: str | None) -> Decision:
        encoded = credentials(authorization, "Basic")
        if isinstance(encoded, Deny):
            return encoded
        fingerprint = hmac.new(self.key, encoded.encode(), hashlib.sha256).digest()
        if fingerprint in self.accepted:
            return Allow(self.accepted[fingerprint])
        try:
            user, colon, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            colon = ""
        if not colon:
            return Deny(401, "malformed credentials: expected base64 of USER:PASSWORD", f'Basic realm="{REALM}"')
        if not self.hashing.acquire(blocking=False):
            return self.BUSY
        try:
            stored = self.users.get(user)
            matches = check_password_hash(stored or self.dummy_hash, password) and stored
        finally:
            self.hashing.release()
        if not matches:
            return Deny(403, "invalid user name or password")
        if len(self.accepted) >= self.REMEMBERED:
            self.accepted.clear()
        self.accepted[fingerprint] = user
        return Allow(user)


def read_credentials(environ: Mapping[str, str], variable: str, secret: re.Pattern[str], shape: str) -> dict[str, str]:
    """USER:SECRET lines (`shape` names them, e.g. USER:TOKEN) of the file named by `variable`; # comments allowed."""
    path = environ.get(variable, "").strip()
    if not path:
        raise ConfigError(f"{variable} is not set: it names the file of {shape} lines")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{variable}={path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{variable}={path}: not UTF-8 text") from None
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, colon, value = (part.strip() for part in line.partition(":"))
        # Never quote the line: it holds a secret.
        if not colon or not USER_NAME.fullmatch(user) or not secret.fullmatch(value):
            raise ConfigError(f"{path}: line {number}: expected {shape} (user: letters, digits, . _ @ -)")
        if user in found:
            raise ConfigError(f"{path}: line {number}: user {user!r} is listed twice")
        if value in found.values():
            raise ConfigError(f"{path}: line {number}: same secret as another user")
        found[user] = value
    if not found:
        raise ConfigError(f"{path}: no {shape} line: nobody could get in")
    return found


def check_from_env(environ: Mapping[str, str]) -> Check:
    raw = environ.get("AUTH_MODE", "allow")
    mode = raw.strip().lower()
    if mode == "allow":
        return allow_everyone
    if mode == "token":
        return TokenCheck(read_credentials(environ, "AUTH_TOKENS_FILE", TOKEN, "USER:TOKEN"))
    if mode == "basic":
        shape = "USER:HASH (python auth.py hash USER; plain passwords are refused)"
        return BasicCheck(read_credentials(environ, "AUTH_USERS_FILE", PASSWORD_HASH, shape))
    raise ConfigError(f"AUTH_MODE={raw!r}: expected allow, token or basic")


@dataclass(frozen=True)
class Reply:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


def decide(check: Check, authorization: str | None, method: str, path: str) -> Reply:
    """The answer to one check request: Envoy's original method and path behind CHECK_PREFIX."""
    what = f"{method} {path.removeprefix(CHECK_PREFIX)}"  # the path without its query string: it may hold secrets
    decision = check(authorization)
    if isinstance(decision, Allow):
        log.info("allow %s as %s", what, decision.user)
        return Reply(200, ((USER_HEADER, decision.user),))
    log.info("deny %s: %d %s", what, decision.status, decision.reason)
    headers = [("content-type", "text/plain; charset=utf-8"), (REASON_HEADER, decision.reason)]
    if decision.challenge:
        headers.append(("www-authenticate", decision.challenge))
    if decision.status == 429:
        headers.append(("retry-after", "1"))
    return Reply(decision.status, tuple(headers), f"{decision.reason}\n".encode())


async def answer(check: Check, method: str, target: str, authorization: str | None) -> Reply:
    """Route one request: GET /health, any of METHODS on /check and below, 404 otherwise."""
    path = target.partition("?")[0]
    if path == "/health" and method in ("GET", "HEAD"):
        return Reply(200, (("content-type", "application/json"),), b'{"status":"ok"}\n')
    if path != CHECK_PREFIX and not path.startswith(f"{CHECK_PREFIX}/"):
        return Reply(404, (("content-type", "text/plain"),), b"not found\n")
    if method not in METHODS:
        return Reply(405, (("allow", ", ".join(METHODS)),))
    if getattr(check, "blocking", False):  # may hash a password: on a thread, so the loop keeps answering others
        return await asyncio.to_thread(decide, check, authorization, method, path)
    return decide(check, authorization, method, path)


REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 429: "Too Many Requests", 431: "Request Header Fields Too Large"}


def encode(reply: Reply, *, head: bool, keep_alive: bool) -> bytes:
    """The HTTP/1.1 response; a HEAD request's has the body's length but no body."""
    lines = [f"HTTP/1.1 {reply.status} {REASONS[reply.status]}", *(f"{k}: {v}" for k, v in reply.headers),
             f"content-length: {len(reply.body)}"]
    if not keep_alive:
        lines.append("connection: close")
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + (b"" if head else reply.body)


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    headers: dict[str, str]  # lower-case names; the first of repeated headers

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"


def parse(head: bytes) -> Request | None:
    """An HTTP/1.1 request head (request line and headers, up to the blank line), or None if malformed."""
    request_line, *lines = head.decode("latin-1").removesuffix("\r\n\r\n").split("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[1].startswith("/") or parts[2] != "HTTP/1.1":
        return None
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            return None
        headers.setdefault(name.lower(), value.strip())
    return Request(parts[0], parts[1], headers)


MAX_HEAD = 16 * 1024  # request line and headers: the edge passes on at most 16 KiB of headers (max_request_headers_kb)
IDLE_SECONDS = 75  # longer than Envoy's idle timeout for this cluster, so Envoy closes idle connections first


async def serve_connection(check: Check, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                           idle: set[asyncio.Task[None]] | None = None) -> None:
    """Answer the requests of one kept-alive connection from Envoy, in order, until it closes or misbehaves.
    While it waits for the next request, its task is in `idle` (if given): those may be cancelled at shutdown."""
    task = asyncio.current_task()
    try:
        while True:
            try:
                if idle is not None and task:
                    idle.add(task)
                async with asyncio.timeout(IDLE_SECONDS):  # cheaper than wait_for: no task per request
                    head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.LimitOverrunError:
                writer.write(encode(Reply(431), head=False, keep_alive=False))
                return
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                return
            finally:
                if idle is not None and task:
                    idle.discard(task)
            request = parse(head)
            length = request.headers.get("content-length", "0") if request else ""
            # Envoy sends no body with a check (no with_request_body); one we cannot skip safely ends the connection.
            if request is None or not length.isdigit() or int(length) > MAX_HEAD or \
                    "transfer-encoding" in request.headers:
                writer.write(encode(Reply(400), head=False, keep_alive=False))
                return
            await reader.readexactly(int(length))
            reply = await answer(check, request.method, request.target, request.headers.get("authorization"))
            writer.write(encode(reply, head=request.method == "HEAD", keep_alive=request.keep_alive))
            await writer.drain()
            if not request.keep_alive:
                return
    except (asyncio.IncompleteReadError, ConnectionError):
        return
    finally:
        writer.close()


async def serve(check: Check, host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT; then stop listening, close idle connections and let the checks in flight
    finish (at most 10 s)."""
    connections: set[asyncio.Task[None]] = set()
    idle: set[asyncio.Task[None]] = set()

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connections.add(task)
        try:
            await serve_connection(check, reader, writer, idle)
        except asyncio.CancelledError:
            pass  # an idle connection, closed at shutdown
        finally:
            connections.discard(task)

    server = await asyncio.start_server(connected, host, port, limit=MAX_HEAD, backlog=1024)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    log.info("listening on %s:%d", host, port)
    await stop.wait()
    server.close()
    for task in idle:
        task.cancel()
    if connections:
        await asyncio.wait(connections, timeout=10)
    log.info("stopped")


def configure() -> tuple[Check, str, int]:
    """The check, host and port from the environment; a bad setting stops the process with one line."""
    raw = os.environ.get("LOG_LEVEL", "info")
    level = raw.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        sys.exit(f"auth: LOG_LEVEL={raw!r}: expected one of debug, info, warning, error, critical")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    port = os.environ.get("PORT", "8080")
    if not port.isdigit() or not 0 < int(port) < 65536:
        sys.exit(f"auth: PORT={port!r}: expected a port number")
    try:
        return check_from_env(os.environ), os.environ.get("HOST", "0.0.0.0"), int(port)
    except ConfigError as exc:
        sys.exit(f"auth: {exc}")


def main(argv: list[str]) -> int:
    """`python auth.py`: serve. `python auth.py hash USER`: read a password (prompt, or one line of stdin) and
    print a USER:HASH line."""
    if not argv:
        asyncio.run(serve(*configure()))
        return 0
    if len(argv) != 2 or argv[0] != "hash" or not USER_NAME.fullmatch(argv[1]):
        print("usage: python auth.py [hash USER]  (the password is read from the terminal or stdin)", file=sys.stderr)
        return 2
    password = getpass.getpass(f"password for {argv[1]}: ") if sys.stdin.isatty() else sys.stdin.readline()
    password = password.rstrip("\r\n")
    if not password:
        print("auth: empty password", file=sys.stderr)
        return 1
    print(f"{argv[1]}:{generate_password_hash(password)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
