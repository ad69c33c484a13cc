"""Serve the built deck on 127.0.0.1 (the repository root is the document root, so the deck's links to
exercise pages and project files resolve) and print its URL."""

from __future__ import annotations

import functools
import http.server
import os
import sys
from pathlib import Path


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files; logs only failed requests; browsers' favicon request gets an empty answer, not a 404."""

    def do_GET(self) -> None:
        if self.path == "/favicon.ico":
            self.send_response(204)
            self.end_headers()
            return
        super().do_GET()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if str(code).isdigit() and int(code) >= 400:
            super().log_request(code, size)


def serve(root: Path, deck: Path, port: int) -> None:
    """Serve `root` until interrupted; `deck` (index.html under root) is the printed URL."""
    if not deck.is_file():
        raise SystemExit(f"slides: {deck} does not exist: run `make slides` first")
    if not deck.resolve().is_relative_to(root.resolve()):
        raise SystemExit(f"slides: {deck} is outside {root}, the directory served")
    handler = functools.partial(QuietHandler, directory=str(root))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as err:
        raise SystemExit(f"slides: cannot listen on 127.0.0.1:{port}: {err.strerror} (another --port?)") from None
    with server:
        path = Path(os.path.relpath(deck, root)).as_posix()
        print(f"slides: http://127.0.0.1:{server.server_address[1]}/{path}", flush=True)
        print("slides: presenter view with speaker notes: press p in the deck (Ctrl-C stops)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print(file=sys.stderr)
