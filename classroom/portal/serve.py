"""Serving the portal: gunicorn, one process (the claims' lock is in-process) with threads (a grid refresh and a
dry run do not hold up a participant's claim), stopped cleanly by SIGTERM or Ctrl-C."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

THREADS = 8


class PortalServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Flask, bind: str, threads: int = THREADS) -> None:
        self.app = app
        self.options = {"bind": bind, "workers": 1, "threads": threads, "worker_class": "gthread",
                        "timeout": 300, "graceful_timeout": 5, "accesslog": "-",
                        "access_log_format": '%(h)s "%(r)s" %(s)s %(M)sms'}
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.app


def serve(app: Flask, host: str, port: int) -> None:
    PortalServer(app, f"[{host}]:{port}" if ":" in host else f"{host}:{port}").run()
