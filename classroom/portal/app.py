"""The class portal (Flask), started by the instructor with `shopbox-class portal`.

Participants: `/` asks for the event code, a name and (optionally) the seat on their card; `POST /claim` gives
them a seat and `/join/SEAT.yaml` its join file, with the exact command to run. A request without the code is
refused (400); wrong codes are counted per address and refused for a while after a few (429, ratelimit.py).

The instructor (behind the instructor key: `/instructor/login?key=...`, printed at start, then a cookie):
`/instructor` the progress grid, refreshed live from `/instructor/grid` (the rows of `class status`: per seat the
page and step reached, the failing step and how many times in a row, last activity, pods not Ready, restarts, quota
use); `/instructor/seat/SEAT` one seat's recorded checks, its cluster-side checks (read-only) and the stuck
diagnosis (`/instructor/seat/SEAT/diagnose?step=N.M`: a dry run of the step's solve against the seat, as a diff);
`/instructor/cards` printable cards (seat, portal address, event code).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, abort, make_response, redirect, render_template, request, url_for

from classroom import progress
from classroom.errors import ClassError
from classroom.portal.backend import Backend
from classroom.portal.view import grid_rows, page_of
from classroom.ratelimit import WrongCodes

CLAIM_COOKIE = "shopbox_claim"
INSTRUCTOR_COOKIE = "shopbox_instructor"
STUCK_AFTER = 3  # failed checks of one step in a row: the grid marks the seat as stuck


@dataclass
class Settings:
    klass: str
    code: str  # the event code participants type
    key: str  # the instructor's key
    public_url: str = ""  # the portal's address as participants type it (on the cards; "": the request's)
    refresh: float = 5.0  # seconds between the grid's refreshes
    stuck_after: int = STUCK_AFTER
    wrong_codes: WrongCodes = field(default_factory=WrongCodes)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def create_app(settings: Settings, backend: Backend) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024

    def portal_url() -> str:
        return settings.public_url or request.host_url

    def instructor() -> None:
        if not _same(request.cookies.get(INSTRUCTOR_COOKIE, ""), settings.key):
            abort(403, "the instructor's pages need the instructor key: open the login address "
                       "`shopbox-class portal` printed")

    @app.errorhandler(ClassError)
    def class_error(err: ClassError) -> tuple[str, int]:
        return render_template("message.html", title="Not possible", message=str(err)), 409

    @app.get("/")
    def home() -> str:
        return render_template("claim.html", klass=settings.klass, seat=request.args.get("seat", ""), error="")

    @app.post("/claim")
    def claim() -> Any:
        client = request.remote_addr or "?"
        wait = settings.wrong_codes.retry_after(client)
        if wait:
            response = make_response(render_template(
                "message.html", title="Too many wrong event codes",
                message=f"Too many wrong event codes from your address: try again in {wait} s."), 429)
            response.headers["Retry-After"] = str(wait)
            return response
        code = (request.form.get("code") or "").strip()
        if not code:
            return render_template("claim.html", klass=settings.klass, seat=request.form.get("seat", ""),
                                   error="The event code is required (it is on the screen or on your card)."), 400
        if not _same(code.lower(), settings.code.lower()):
            settings.wrong_codes.wrong(client)
            return render_template("claim.html", klass=settings.klass, seat=request.form.get("seat", ""),
                                   error="That is not this class's event code."), 403
        try:
            found, key = backend.claims.claim(request.form.get("name", ""), request.cookies.get(CLAIM_COOKIE, ""),
                                              backend.claimable(), (request.form.get("seat") or "").strip(),
                                              backend.add_seat if backend.add.limit else None)
        except ClassError as err:
            return render_template("claim.html", klass=settings.klass, seat=request.form.get("seat", ""),
                                   error=str(err)), 409
        response = make_response(render_template("claimed.html", claim=found, klass=settings.klass))
        response.set_cookie(CLAIM_COOKIE, key, httponly=True, samesite="Lax", max_age=24 * 3600)
        return response

    @app.get("/join/<seat>.yaml")
    def join_file(seat: str) -> Response:
        held = backend.claims.read().get(seat)
        if held is None or not held.holds(request.cookies.get(CLAIM_COOKIE, "")):
            abort(403, "this join file belongs to another participant's seat (claim a seat first)")
        content = backend.join_file(seat)
        if content is None:
            abort(404, f"seat {seat} has no join file")
        return Response(content, mimetype="application/yaml",
                        headers={"Content-Disposition": f'attachment; filename="{seat}.yaml"',
                                 "Cache-Control": "no-store"})

    @app.get("/instructor/login")
    def login() -> Any:
        if not _same(request.args.get("key", ""), settings.key):
            abort(403, "wrong instructor key")
        response = redirect(url_for("grid"))
        response.set_cookie(INSTRUCTOR_COOKIE, settings.key, httponly=True, samesite="Strict", max_age=24 * 3600)
        return response

    @app.get("/instructor")
    def grid() -> str:
        instructor()
        return render_template("grid.html", klass=settings.klass, refresh=settings.refresh,
                               code=settings.code, portal=portal_url(), **_grid(backend, settings))

    @app.get("/instructor/grid")
    def grid_fragment() -> Response:
        instructor()
        found = _grid(backend, settings)
        response = make_response(render_template("grid_rows.html", **found))
        response.headers["X-Updated"] = f"{found['updated']} ({found['read_ms']} ms)"
        response.headers["X-Stuck"] = str(found["stuck"])
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/instructor/seat/<seat>")
    def seat_page(seat: str) -> str:
        instructor()
        row = next((r for r in _grid(backend, settings)["rows"] if r.seat == seat), None)
        if row is None:
            abort(404, f"there is no seat {seat} in class {settings.klass}")
        recorded = sorted(backend.record(seat).items(), key=lambda item: progress.step_key(item[0]))
        return render_template("seat.html", klass=settings.klass, row=row, recorded=recorded, pages=backend.pages)

    @app.get("/instructor/seat/<seat>/checks")
    def seat_checks(seat: str) -> str:
        instructor()
        number = request.args.get("page", type=int)
        if number is None:
            abort(400, "which page? ?page=N")
        started = time.monotonic()
        found = backend.cluster_checks(seat, number)
        return render_template("checks.html", seat=seat, page=backend.page(number), checks=found,
                               seconds=time.monotonic() - started)

    @app.get("/instructor/seat/<seat>/diagnose")
    def seat_diagnose(seat: str) -> str:
        instructor()
        step = request.args.get("step", "")
        if not step:
            abort(400, "which step? ?step=N.M")
        started = time.monotonic()
        found = backend.diagnose(seat, step)
        return render_template("diagnose.html", seat=seat, diagnosis=found, step=backend.step(step),
                               seconds=time.monotonic() - started)

    @app.post("/instructor/seat/<seat>/release")
    def release(seat: str) -> Any:
        instructor()
        backend.claims.release(seat)
        return redirect(url_for("seat_page", seat=seat))

    @app.get("/instructor/cards")
    def cards() -> str:
        instructor()
        return render_template("cards.html", klass=settings.klass, seats=backend.seats(), portal=portal_url(),
                               code=settings.code)

    return app


def _grid(backend: Backend, settings: Settings) -> dict[str, Any]:
    started = time.monotonic()
    rows = grid_rows(backend.status(), backend.claims.read(), backend.pages, settings.stuck_after,
                     datetime.now(UTC))
    return {"rows": rows, "read_ms": int((time.monotonic() - started) * 1000), "page_of": page_of,
            "stuck": sum(r.stuck for r in rows), "updated": datetime.now(UTC).strftime("%H:%M:%S UTC")}
