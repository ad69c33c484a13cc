"""gunicorn settings for QOTM. gunicorn reads ./gunicorn.conf.py by itself; command-line flags override it."""

import os

from gunicorn.errors import HaltServer

bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
# One process with threads: prometheus_client counts in process memory, and with several worker processes each
# scrape of /metrics would show one random worker's numbers.
workers = 1
threads = 8
preload_app = True  # import qotm.py before starting the worker: a bad setting stops gunicorn with one line
graceful_timeout = 10  # on SIGTERM, requests in flight get this long; Kubernetes waits 30 s before SIGKILL
keepalive = 75  # longer than the proxy's idle timeout, so the proxy, not gunicorn, closes idle connections
accesslog = "-"  # stdout
errorlog = "-"  # stderr
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
control_socket_disable = True  # no gunicornc socket under $HOME: read-only filesystem, several servers per host


def child_exit(server, worker):
    """In the master, after a worker process ended.

    While the server is not shutting down (it still holds its listening sockets) the worker died by itself, as
    GET /crash makes it. Instead of quietly starting a new worker, stop with status 1: the container exits and
    Kubernetes restarts it, which is the restart the workshop wants you to see.
    """
    if server.LISTENERS:
        raise HaltServer(f"worker {worker.pid} exited unexpectedly (GET /crash?)", 1)
