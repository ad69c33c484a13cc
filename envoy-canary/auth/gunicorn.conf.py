"""gunicorn settings for the auth service. gunicorn reads ./gunicorn.conf.py by itself; flags override it."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
# Every edge request waits for a check here: threads answer them side by side. In basic mode one of them at a
# time hashes a password (0.1-0.4 s, 32 MiB); the others answer remembered users, or 429 (auth.BasicCheck).
workers = 1
threads = 8
preload_app = True  # import auth.py (and read the credentials file) before the worker: bad settings stop us in one line
graceful_timeout = 10  # on SIGTERM, checks in flight get this long
keepalive = 75  # longer than Envoy's idle timeout for this cluster, so Envoy closes idle connections first
accesslog = "-"  # stdout
# No user name (%(u)s, from a Basic header) and no query string (%(U)s is the path alone): nothing secret logged.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
control_socket_disable = True  # no gunicornc socket under $HOME: read-only filesystem, several servers per host
