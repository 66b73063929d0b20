"""Gunicorn settings for the web tier: `gunicorn -c config/gunicorn.py config.wsgi` (see `make serve`).

Every value can be overridden by the environment (or on the command line) without editing this file.
"""

import multiprocessing
import os

# The web tier caps each query; workers and management commands, which may run long, do not.
os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT", "15s")

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")

# 2 workers per core by default (the 2-4 per core rule; the requests are short and database-bound),
# each with a few threads so that keep-alive and slow clients do not pin a whole process.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "2"))

# A request still running after this is killed and its worker replaced; the statement timeout ends
# database work well before that.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so that a slow leak cannot grow without bound.
max_requests = 2000
max_requests_jitter = 200

# Gunicorn 27 opens a control socket under $HOME by default; the site does not use it.
control_socket_disable = True

# Only the proxy in front of us may set X-Forwarded-* (FORWARDED_ALLOW_IPS="*" inside a private
# network such as docker-compose's).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# "-" is stderr; empty turns the access log off (the load test does, to measure the site, not the log).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


def when_ready(server):
    """Once, in the master, when it listens: what the settings ask for that starts nothing (ACLED_API_KEY without
    an ACLED account; events.checks). Not in config/wsgi.py, which each worker imports, and again when recycled."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from events.checks import warn_at_start_up

    warn_at_start_up(server.log)
