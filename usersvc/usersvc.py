"""usersvc: users in PostgreSQL, each answer with a quote from QOTM (the service-mesh lab's stateful service).

Endpoints (the edge forwards /users/... here with the prefix rewritten to /):
  GET /            list users (?limit=1..100, default 50, &offset>=0)
  POST /           create a user: {"username": "...", "fullname": "...", "email": "..."} -> 201
  GET /<username>  one user;  DELETE /<username> -> 204
  GET /health      readiness: 200 once the database answers and is migrated, 503 while it does not
Settings (environment): PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE (libpq's own), DB_POOL_SIZE (4),
DB_TIMEOUT (2 s), QOTM_URL (the sidecar's egress listener), QOTM_TIMEOUT (2 s), LOG_LEVEL.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import socket
import sys

from flask import Flask, Response, jsonify, request
from quoteclient import QuoteClient
from userstore import Exists, Store, Unavailable
from werkzeug.exceptions import HTTPException

USERNAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
RESERVED = frozenset({"health", "metrics"})  # paths of this service, never user names
FIELDS = ("username", "fullname", "email")
MAX_FULLNAME, MAX_EMAIL = 100, 254
MAX_BRACKETS = 16  # a user body needs none; refusing more before parsing bounds json's recursion
BODY_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/plain", "")  # what `curl -d` sends
HOSTNAME = socket.gethostname()
log = logging.getLogger("usersvc")


def env_number(name: str, default: float, low: float, high: float) -> float:
    """A number in [low, high] from the environment; stops the program with one line otherwise."""
    raw = os.environ.get(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not low <= value <= high:
        sys.exit(f"usersvc: {name}={raw!r}: expected a number from {low:g} to {high:g}")
    return value


def error(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message), status


def user_from_body(body: bytes) -> dict[str, str]:
    """The fields of a create request; ValueError with a one-line reason for anything else."""
    if body.count(b"[") + body.count(b"{") > MAX_BRACKETS:
        raise ValueError("request body nests too deep; send one JSON object with username, fullname, email")
    try:
        data = json.loads(body)
    except ValueError:
        raise ValueError("request body is not valid JSON; send {\"username\": ..., \"fullname\": ..., "
                         "\"email\": ...}") from None
    if not isinstance(data, dict):
        raise ValueError("request body must be a JSON object with username, fullname, email")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}; accepted: {', '.join(FIELDS)}")
    for field in FIELDS:
        if field not in data:
            raise ValueError(f"missing field {field!r}")
        if not isinstance(data[field], str):
            raise ValueError(f"field {field!r} must be a string, not {type(data[field]).__name__}")
        if any(ord(c) < 32 or ord(c) == 127 for c in data[field]):
            raise ValueError(f"field {field!r} contains a control character")
    check_username(data["username"])
    fullname, email = data["fullname"].strip(), data["email"].strip()
    if not fullname or len(fullname) > MAX_FULLNAME:
        raise ValueError(f"field 'fullname' must be 1 to {MAX_FULLNAME} characters long")
    if len(email) > MAX_EMAIL or not EMAIL.fullmatch(email):
        raise ValueError("field 'email' is not an e-mail address like alice@example.com")
    return {"username": data["username"], "fullname": fullname, "email": email}


def check_username(name: str) -> None:
    if not USERNAME.fullmatch(name):
        raise ValueError(f"username {name[:40]!r} is not valid: 1 to 32 of a-z, 0-9 and '-', starting with a letter")
    if name in RESERVED:
        raise ValueError(f"username {name!r} is reserved")


def query_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, str(default))
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise ValueError(f"query parameter {name}={raw[:20]!r}: expected a whole number from {low} to {high}")
    return int(raw)


def create_app(store: Store, quotes: QuoteClient) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 4 * 1024  # larger bodies get 413

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        return error(exc.code or 500, f"{exc.name}: {request.method} {request.path}")

    @app.errorhandler(Unavailable)
    def unavailable(exc: Unavailable) -> tuple[Response, int]:
        log.warning("%s %s: %s", request.method, request.path, exc)
        return error(503, str(exc))

    @app.errorhandler(ValueError)
    def bad_request(exc: ValueError) -> tuple[Response, int]:
        return error(400, str(exc))

    def with_quote(payload: dict, status: int = 200) -> tuple[Response, int]:
        quote = quotes.fetch(request.headers)
        response = jsonify({**payload, **quote.to_json()})
        if quote.problem:
            response.headers["x-usersvc-degraded"] = "qotm"
        response.headers["x-usersvc-pod"] = HOSTNAME
        return response, status

    @app.get("/health")
    def health() -> Response:
        store.ready()  # Unavailable -> 503: the pod leaves the Service (and Envoy's cluster) until the DB is back
        return jsonify(status="ok", database="ok")

    @app.get("/")
    def list_users() -> tuple[Response, int]:
        limit, offset = query_int("limit", 50, 1, 100), query_int("offset", 0, 0, 10**9)
        users = store.list(limit, offset)
        return with_quote({"users": [u.to_json() for u in users], "limit": limit, "offset": offset})

    @app.post("/")
    def create_user() -> tuple[Response, int]:
        if request.mimetype not in BODY_TYPES and not request.mimetype.endswith("+json"):
            return error(415, f"content type {request.mimetype!r} is not JSON")
        fields = user_from_body(request.get_data())
        try:
            user = store.create(**fields)
        except Exists:
            return error(409, f"user {fields['username']!r} exists already")
        log.info("created user %s", user.username)
        return with_quote(user.to_json(), 201)

    @app.get("/<username>")
    def get_user(username: str) -> tuple[Response, int]:
        check_username(username)
        user = store.get(username)
        if user is None:
            return error(404, f"no user {username!r}")
        return with_quote(user.to_json())

    @app.delete("/<username>")
    def delete_user(username: str) -> tuple[Response, int] | Response:
        check_username(username)
        if not store.delete(username):
            return error(404, f"no user {username!r}")
        log.info("deleted user %s", username)
        return Response(status=204)

    return app


def from_environment() -> Flask:
    """The app gunicorn serves (`usersvc:from_environment()`), configured from the environment."""
    level = os.environ.get("LOG_LEVEL", "info").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        sys.exit(f"usersvc: LOG_LEVEL={level.lower()!r}: expected debug, info, warning, error or critical")
    logging.basicConfig(level=level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = Store(pool_size=int(env_number("DB_POOL_SIZE", 4, 1, 64)), timeout=env_number("DB_TIMEOUT", 2, 0.1, 30))
    quotes = QuoteClient(os.environ.get("QOTM_URL", "http://127.0.0.1:9001/"), env_number("QOTM_TIMEOUT", 2, 0.1, 30))
    return create_app(store, quotes)
