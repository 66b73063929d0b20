"""A real Celery worker process for the job tests, and the local servers that stand in for the internet.

The worker is `.venv/bin/celery -A config worker`, started once per session against the test database and
the test run's Redis (REDIS_URL), so everything a test commits is what the worker sees. The ACLED API and
the webhook receivers are http.server instances on loopback. Fixtures are imported by tests/conftest.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from . import fake_sources
from .fake_sources import AcledServer
from .servers import ROOT, VENV_BIN, make_tempdir, stop_group, wait_for

# The fake ACLED API (tests/fake_sources.py), which the worker is pointed at; conftest imports it from here.
acled_server = fake_sources.acled_server

# The worker's settings: a short visibility timeout so a task of a killed worker is handed out again
# within seconds, small chunks so an import has many commits to be killed between, and quick retries.
VISIBILITY_TIMEOUT = 4
WORKER_ENV = {
    "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
    "CELERY_RESTORE_INTERVAL": "1",
    "IMPORT_CHUNK_SIZE": "500",
    "WEBHOOK_RETRY_BASE_SECONDS": "1",
    "WEBHOOK_TIMEOUT_SECONDS": "5",
    "ACLED_PAGE_SIZE": "3",
    "ACLED_EMAIL": AcledServer.EMAIL,
    "ACLED_PASSWORD": AcledServer.PASSWORD,
    "ACLED_QUERY": "iso=368",
    "SYNC_BACKOFF_MS": "10",
}
JOB_TIMEOUT = 180.0
_worker: Worker | None = None  # the session's, once its fixture has started it


def database_url() -> str:
    """The test database (pytest-django has switched the connection to it) as a DATABASE_URL."""
    from django.db import connection

    db = connection.settings_dict
    credentials = quote(db["USER"], safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else "")
    host = quote(db["HOST"] or "", safe="")
    return f"postgis://{credentials}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(VENV_BIN / "celery"), "-A", "config", "worker", "--loglevel=INFO", "--concurrency=2",
                 "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"jobs-tests-{os.getpid()}@%h"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so kill() reaches the pool children too
            )  # fmt: skip
        wait_for(lambda: self._ready(offset), "the Celery worker to be ready", timeout=60)

    def _ready(self, offset: int) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"the Celery worker exited:\n{self.log.read_text()[-3000:]}")
        with open(self.log, "rb") as log:
            log.seek(offset)
            return b" ready." in log.read()

    def broker(self):
        import redis

        return redis.Redis.from_url(self.env["REDIS_URL"])

    def kill(self) -> None:
        """kill -9 of the whole worker: the main process and every pool process, mid-task."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process)
            self.process = None


class _WebhookHandler(fake_sources.JsonHandler):
    def do_POST(self):
        server: WebhookReceiver = self.server.owner
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with server.lock:
            status = server.answers.pop(0) if server.answers else 200
            server.received.append(Received(self.path, dict(self.headers), body, status))
        self.answer(status, {"ok": status < 300})


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    def json(self):
        return json.loads(self.body)


class WebhookReceiver(fake_sources.LoopbackServer):
    """Answers POSTs with the statuses in `answers` in turn (then 200), and keeps what it received."""

    handler = _WebhookHandler

    def __init__(self, answers: list[int] | None = None) -> None:
        self.answers = list(answers or [])
        self.received: list[Received] = []
        super().__init__()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, acled_server) -> Iterator[Worker]:
    """One worker for the session, on the test database and this run's Redis database."""
    import redis
    from django.conf import settings

    # Messages left by an earlier run (a killed worker's unacked tasks) would be handed to this worker.
    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.delete("celery", "unacked", "unacked_index", "unacked_mutex")
    directory = make_tempdir("posture-worker-")
    env = {
        **os.environ,
        **WORKER_ENV,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "ACLED_BASE_URL": acled_server.url,
        "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
    }
    env.pop("TEST_DATABASE_NAME", None)
    worker = Worker(env, directory / "worker.log")
    worker.start()
    global _worker
    _worker = worker
    yield worker
    _worker = None
    worker.stop()


def wait_for_quiet_database(timeout: float = 60.0) -> None:
    """Until the worker has no task to run (queued, or running: with late acks a task stays in `unacked`
    until it returns, and what it queues on commit is in `celery` before that) and no other connection to
    the test database is inside a statement or a transaction. A retry waiting for its countdown (a webhook's)
    is unacked too but runs later, so it is not waited for."""
    from django.db import connection

    running = _worker is not None and _worker.process is not None and _worker.process.poll() is None
    broker = _worker.broker() if running else None  # one client for the whole wait, not one per poll

    def busy_worker() -> bool:
        if broker is None:
            return False
        if broker.llen("celery"):
            return True
        now = dt.datetime.now(dt.UTC)
        for payload in broker.hvals("unacked"):
            eta = json.loads(payload)[0]["headers"].get("eta")
            if eta is None:
                return True
            eta = dt.datetime.fromisoformat(eta)
            if (eta if eta.tzinfo else eta.replace(tzinfo=dt.UTC)) <= now + dt.timedelta(seconds=1):
                return True
        return False

    def quiet() -> bool:
        if busy_worker():
            return False
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state <> 'idle'"
            )
            return cursor.fetchone()[0] == 0

    wait_for(quiet, "the worker and the live server to finish with the database", timeout=timeout, interval=0.05)


def wait_until(predicate, what: str, timeout: float = JOB_TIMEOUT):
    return wait_for(predicate, what, timeout=timeout, interval=0.05)


def wait_for_job(job_id: int, timeout: float = JOB_TIMEOUT):
    from events.models import ImportJob

    def finished():
        job = ImportJob.objects.get(pk=job_id)
        return job if job.finished else None

    return wait_until(finished, f"import #{job_id} to finish", timeout)
