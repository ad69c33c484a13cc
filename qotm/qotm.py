"""QOTM, the Quote Of The Moment: the small Flask service the workshop builds, deploys and canaries.

Endpoints: GET / (a random quote), GET /health, GET and PUT /quote/<id>, GET /crash (the restart demo),
GET /metrics (Prometheus), GET and PUT /fault (the resilience exercise's faults, changed at run time). Settings
come from the environment: QOTM_VERSION, QOTM_DELAY (seconds added to GET /, for the canary and timeout
exercises), QOTM_FAIL_PERCENT (that share of requests answered 503, for the resilience exercise) and LOG_LEVEL.
The port is gunicorn's business: see gunicorn.conf.py.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import socket
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask, Response, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, Info, disable_created_metrics, generate_latest
from werkzeug.exceptions import HTTPException


def env_number(name: str, allowed: Callable[[float], bool], expected: str) -> float:
    """A number from the environment (0 when unset); stops the program with one line when not `allowed`."""
    raw = os.environ.get(name, "0")
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not allowed(value):
        sys.exit(f"qotm: {name}={raw!r}: expected {expected}")
    return value


def env_seconds(name: str) -> float:
    return env_number(name, lambda v: 0 <= v < math.inf, "a number of seconds >= 0, like 0.5")


def env_percent(name: str) -> float:
    return env_number(name, lambda v: 0 <= v <= 100, "a percentage from 0 to 100, like 20")


def env_log_level(name: str) -> str:
    """A logging level name from the environment (default INFO); stops the program with one line otherwise."""
    raw = os.environ.get(name, "info")
    level = raw.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        sys.exit(f"qotm: {name}={raw!r}: expected one of debug, info, warning, error, critical")
    return level


VERSION = os.environ.get("QOTM_VERSION", "dev")
DELAY = env_seconds("QOTM_DELAY")
FAIL_PERCENT = env_percent("QOTM_FAIL_PERCENT")
# Endpoints QOTM_FAIL_PERCENT never fails: health checks and scrapes keep answering, so a failing pod stays in
# rotation for Envoy's outlier detection to find, and its faults can always be switched off again.
FAULT_EXEMPT = ("/health", "/metrics", "/fault", "/crash")
HOSTNAME = socket.gethostname()  # the pod name in Kubernetes
USER_HEADER = "x-authenticated-as"  # set by the auth service, forwarded by Envoy
MAX_QUOTE_LENGTH = 500
MAX_JSON_DEPTH = 8  # a PUT body needs 1: {"quote": "..."}
# PUT bodies: JSON, or what `curl -d` and plain clients send (form-urlencoded, text/plain, no type at all).
BODY_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/plain", "")

logging.basicConfig(level=env_log_level("LOG_LEVEL"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("qotm")

# In memory, per process: every replica has its own copy, and a restart brings the originals back.
QUOTES: dict[int, str] = dict(enumerate([
    "Abstraction is ever present.",
    "A late night does not make any sense.",
    "A principal idea is omnipresent, much like candy.",
    "Nihilism gambles with lives, happiness, and even destiny itself!",
    "The light at the end of the tunnel is interdependent on the relatedness of motivation and management.",
    "Utter nonsense is a storyteller without equal.",
    "Non-locality is the driver of truth. By summoning, we vibrate.",
    "A small mercy is nothing at all?",
    "The last sentence you read is often sensible nonsense.",
    "668: The Neighbor of the Beast.",
], start=1))
QUOTES_LOCK = threading.Lock()  # gunicorn runs several threads in this process

disable_created_metrics()  # no *_created series: /metrics stays readable
# Metrics live in this process's memory, so gunicorn runs ONE worker process (with threads): see gunicorn.conf.py.
REQUESTS = Counter("qotm_requests", "HTTP requests answered", ["endpoint", "method", "status"])
LATENCY = Histogram(
    "qotm_request_duration_seconds", "Time to answer an HTTP request", ["endpoint", "method", "status"],
    # Fine around 0.5 s, so a slow canary (time.sleep(0.5)) stands apart from a fast stable.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 1.0, 2.5, 5.0, 10.0),
)
Info("qotm_build", "The running QOTM version").info({"version": VERSION})

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = 16 * 1024  # larger bodies get 413


def error(status: int, message: str) -> tuple[Response, int]:
    """Every error is JSON: {"error": "..."}."""
    return jsonify(error=message), status


@app.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> tuple[Response, int]:
    """Flask's own errors (unknown path, wrong method, body too large, ...) as JSON too."""
    return error(exc.code or 500, f"{exc.name}: {request.method} {request.path}")


@app.before_request
def start_timer() -> Response | tuple[Response, int] | None:
    g.started = time.perf_counter()
    exempt = request.url_rule is not None and request.url_rule.rule in FAULT_EXEMPT
    if FAIL_PERCENT and not exempt and random.random() * 100 < FAIL_PERCENT:
        return error(503, f"injected failure: this pod fails {FAIL_PERCENT:g}% of requests (QOTM_FAIL_PERCENT)")
    return None


@app.after_request
def record_metrics(response: Response) -> Response:
    # The route pattern (/quote/<int:quote_id>), not the raw path, keeps the number of label values small.
    endpoint = request.url_rule.rule if request.url_rule else "unmatched"
    labels = (endpoint, request.method, str(response.status_code))
    REQUESTS.labels(*labels).inc()
    LATENCY.labels(*labels).observe(time.perf_counter() - g.get("started", time.perf_counter()))
    response.headers["x-qotm-pod"] = HOSTNAME  # which pod answered, also through the edge (`curl -si`)
    return response


@app.get("/")
def quote_of_the_moment() -> Response:
    """The quote handler."""
    # Canary exercise: make this version slow here, e.g. `time.sleep(0.5)`. QOTM_DELAY does the same from outside.
    if DELAY:
        time.sleep(DELAY)
    with QUOTES_LOCK:
        quote_id, quote = random.choice(list(QUOTES.items()))
    return jsonify(
        id=quote_id,
        quote=quote,
        hostname=HOSTNAME,
        version=VERSION,
        time=datetime.now(UTC).isoformat(timespec="milliseconds"),
        user=request.headers.get(USER_HEADER),  # None (null) when no edge proxy vouched for the caller
    )


@app.get("/health")
def health() -> Response:
    return jsonify(status="ok", version=VERSION)


@app.get("/quote/<int:quote_id>")
def get_quote(quote_id: int) -> Response | tuple[Response, int]:
    with QUOTES_LOCK:
        quote = QUOTES.get(quote_id)
    if quote is None:
        return error(404, f"no quote with id {quote_id}")
    return jsonify(id=quote_id, quote=quote)


def nested_deeper_than(body: bytes, limit: int) -> bool:
    """Whether arrays and objects in `body` nest deeper than `limit` (brackets inside strings do not count).

    Checked before parsing: json's parser recurses once per level, and a few KiB of `[[[[...` would exhaust the
    stack of a server thread (RecursionError, or a crash where threads get a small stack, as on Alpine).
    """
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            escaped, in_string = (False, True) if escaped else (byte == 0x5C, byte != 0x22)  # backslash, quote
        elif byte == 0x22:
            in_string = True
        elif byte in b"[{":
            depth += 1
            if depth > limit:
                return True
        elif byte in b"]}":
            depth -= 1
    return False


def quote_from_body(body: bytes) -> str:
    """The new quote from a PUT body `{"quote": "..."}`; ValueError with a one-line reason otherwise."""
    if nested_deeper_than(body, MAX_JSON_DEPTH):
        raise ValueError(f'request body nests more than {MAX_JSON_DEPTH} levels deep; send {{"quote": "..."}}')
    try:
        data = json.loads(body)
    except ValueError:
        raise ValueError('request body is not valid JSON; send {"quote": "..."}') from None
    if not isinstance(data, dict):
        raise ValueError('request body must be a JSON object: {"quote": "..."}')
    unknown = sorted(set(data) - {"quote"})
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}; only 'quote' is accepted")
    if "quote" not in data:
        raise ValueError("missing field 'quote'")
    quote = data["quote"]
    if not isinstance(quote, str):
        raise ValueError(f"field 'quote' must be a string, not {type(quote).__name__}")
    quote = quote.strip()
    if not quote:
        raise ValueError("field 'quote' must not be empty")
    if len(quote) > MAX_QUOTE_LENGTH:
        raise ValueError(f"field 'quote' is {len(quote)} characters long; the limit is {MAX_QUOTE_LENGTH}")
    return quote


@app.put("/quote/<int:quote_id>")
def put_quote(quote_id: int) -> Response | tuple[Response, int]:
    with QUOTES_LOCK:
        known = quote_id in QUOTES
    if not known:
        return error(404, f"no quote with id {quote_id}")
    if request.mimetype not in BODY_TYPES and not request.mimetype.endswith("+json"):
        return error(415, f"content type {request.mimetype!r} is not JSON; send {{\"quote\": \"...\"}}")
    try:
        quote = quote_from_body(request.get_data())
    except ValueError as exc:
        return error(400, str(exc))
    with QUOTES_LOCK:
        QUOTES[quote_id] = quote
    log.info("quote %d replaced", quote_id)
    return jsonify(id=quote_id, quote=quote)


@app.get("/crash")
def crash() -> Response:
    """The restart demo: answer, then end this process with status 1.

    gunicorn.conf.py then stops the whole server with status 1 instead of starting a new worker, so the
    container exits and Kubernetes restarts it (watch RESTARTS in `kubectl get pods`).
    """
    log.error("GET /crash: this process exits with status 1 now, on purpose")
    response = jsonify(crashing=True, hostname=HOSTNAME, version=VERSION)
    response.call_on_close(lambda: os._exit(1))  # after the answer went out; os._exit skips all cleanup
    return response


def faults() -> Response:
    return jsonify(fail_percent=FAIL_PERCENT, delay=DELAY)


@app.get("/fault")
def get_fault() -> Response:
    """The faults this process injects now."""
    return faults()


@app.put("/fault")
def put_fault() -> Response | tuple[Response, int]:
    """Change this process's faults: {"fail_percent": 0..100, "delay": seconds} (either or both).

    One pod made bad without a redeploy, for the outlier detection exercise. The edge never routes it
    (internal_paths): call the pod itself (`kubectl port-forward pod/NAME 8081:8080`).
    """
    global FAIL_PERCENT, DELAY
    body = request.get_data()
    try:
        data = None if nested_deeper_than(body, 1) else json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not data or set(data) - {"fail_percent", "delay"}:
        return error(400, 'send {"fail_percent": 0..100, "delay": seconds}, either or both')
    for key, value in data.items():
        top = 100 if key == "fail_percent" else 3600
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= top:
            return error(400, f"field {key!r} must be a number from 0 to {top}")
    FAIL_PERCENT = float(data.get("fail_percent", FAIL_PERCENT))
    DELAY = float(data.get("delay", DELAY))
    log.warning("faults changed: fail_percent=%g delay=%g", FAIL_PERCENT, DELAY)
    return faults()


@app.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)
