"""gunicorn settings for usersvc. gunicorn reads ./gunicorn.conf.py by itself; command-line flags override it."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
# One process with threads: its connection pool (DB_POOL_SIZE) is shared by the threads, so the database sees
# at most DB_POOL_SIZE connections per pod whatever the load.
workers = 1
threads = 8
preload_app = True  # build the app before the worker: a bad setting stops gunicorn with one line; the pool opens
# lazily in the worker (its threads would not survive the fork)
graceful_timeout = 10  # on SIGTERM, requests in flight get this long
keepalive = 75  # longer than the sidecar's idle timeout, so the sidecar closes idle connections first
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
control_socket_disable = True  # no gunicornc socket under $HOME: read-only filesystem, several servers per host
