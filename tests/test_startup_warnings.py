"""ACLED_API_KEY alone, the retired key-based API's, starts nothing and says why, once, at start-up (issue 20):
in real processes, the Celery worker (with an embedded beat), beat alone and gunicorn, started with that
environment; Django's own commands print the system check events.W001 (tests/test_live_sources.py).

The worker here takes only a queue of its own, so it never runs the session worker's tasks, and the beats use
Celery's file scheduler with no entry, so they queue nothing."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from events import checks, tasks
from events.models import ImportJob

from .celery_worker import database_url
from .servers import ROOT, VENV_BIN, WebServer, make_tempdir, stop_group, wait_for

pytestmark = pytest.mark.django_db

WARNING = "(events.W001) ACLED_API_KEY is set but starts nothing"
START_UP_TIMEOUT = 60.0
OLD_KEY = {"ACLED_API_KEY": "an old key", "ACLED_EMAIL": "", "ACLED_PASSWORD": ""}


def environment(**extra: str) -> dict[str, str]:
    """The test run's environment, on the test database and this run's Redis, with `extra` on top."""
    from django.conf import settings

    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL, **extra}
    env.pop("TEST_DATABASE_NAME", None)
    return env


class Process:
    """A Celery process started in its own process group, its output in a file."""

    def __init__(self, args: list[str], env: dict[str, str], directory: Path) -> None:
        self.log = directory / "output.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [str(VENV_BIN / "celery"), "-A", "config", *args],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, pattern: str, what: str) -> re.Match:
        def found():
            if self.process.poll() is not None:
                raise RuntimeError(f"the process exited:\n{self.output()[-3000:]}")
            return re.search(pattern, self.output())

        return wait_for(found, what, timeout=START_UP_TIMEOUT, interval=0.1)

    def stop(self) -> str:
        """SIGTERM to the whole group (a worker's pool, an embedded beat), then its whole output."""
        if self.process.poll() is None:
            stop_group(self.process)
        return self.output()


@pytest.fixture
def tempdir():
    """A directory of make_tempdir's (one the postgres user can reach), removed after the test."""
    made: list[Path] = []

    def make(prefix: str) -> Path:
        made.append(make_tempdir(prefix))
        return made[-1]

    yield make
    for directory in made:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def started(tempdir):
    processes: list[Process] = []

    def start(args: list[str], env: dict[str, str]) -> Process:
        process = Process(args, env, tempdir("posture-start-up-"))
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.stop()


def file_beat(directory: Path) -> list[str]:
    """Celery's own scheduler, with no entry, instead of the database's (which would queue the syncs)."""
    return ["--scheduler", "celery.beat:PersistentScheduler", "-s", str(directory / "schedule")]


@pytest.mark.worker
def test_the_worker_with_its_beat_says_it_once_and_a_queued_acled_sync_starts_nothing(started, tempdir):
    queue = f"posture-start-up-{os.getpid()}"
    directory = tempdir("posture-start-up-beat-")
    worker = started(
        ["worker", "-B", *file_beat(directory), "--loglevel=INFO", "--concurrency=1", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{queue}@%h"],
        environment(**OLD_KEY),
    )  # fmt: skip
    worker.wait_for_output(r" ready\.", "the worker to be ready")
    worker.wait_for_output(r"beat: Starting\.\.\.", "its beat to start")

    result = tasks.sync_acled.apply_async(queue=queue)
    done = worker.wait_for_output(
        rf"Task events\.tasks\.sync_acled\[{result.id}\] succeeded in [0-9.]+s: (.*)", "the sync task to finish"
    )
    output = worker.stop()

    # Said once (by the worker; the beat it forked, which sends beat_init too, says nothing again), and first.
    assert output.count(WARNING) == 1, output
    assert output.index(WARNING) < output.index(" ready.")
    assert "Set ACLED_EMAIL and ACLED_PASSWORD" in output
    # The sync that beat would queue starts nothing: no run, no job, and it says why.
    assert done[1] == "None"
    assert (
        "The acled sync is off: ACLED_EMAIL and ACLED_PASSWORD are not set (ACLED_API_KEY, the retired key, "
        "logs in to nothing)." in output
    )
    assert not ImportJob.objects.exists()


@pytest.mark.worker
def test_beat_alone_says_it_once(started, tempdir):
    beat = started(["beat", "--loglevel=INFO", *file_beat(tempdir("posture-start-up-beat-"))], environment(**OLD_KEY))

    beat.wait_for_output(re.escape(WARNING), "beat to say it")
    beat.wait_for_output(r"beat: Starting\.\.\.", "beat to start")
    output = beat.stop()

    (line,) = [line for line in output.splitlines() if WARNING in line]
    assert "WARNING/MainProcess" in line


@pytest.mark.worker
def test_a_worker_with_an_account_says_nothing(started):
    queue = f"posture-start-up-quiet-{os.getpid()}"
    worker = started(
        ["worker", "--loglevel=INFO", "--concurrency=1", "-Q", queue, "--without-gossip", "--without-mingle",
         "--without-heartbeat", "-n", f"{queue}@%h"],
        environment(ACLED_API_KEY="an old key", ACLED_EMAIL="analyst@example.org", ACLED_PASSWORD="pw"),
    )  # fmt: skip

    worker.wait_for_output(r" ready\.", "the worker to be ready")
    output = worker.stop()

    assert "ACLED_API_KEY" not in output


def test_gunicorn_says_it_once_from_its_master_not_once_a_worker(tempdir):
    from django.conf import settings

    web = WebServer(
        tempdir("posture-start-up-web-"),
        {**OLD_KEY, "WEB_CONCURRENCY": "2", "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL},
    )
    try:
        web.start()
        # Both workers have booted (each imports the site, config/wsgi.py, as it boots) and one has answered.
        wait_for(lambda: web.log.read_text().count("Booting worker with pid") == 2, "both workers to boot")
        wait_for(lambda: web.get("/healthz").status == 200, "a worker to answer", timeout=START_UP_TIMEOUT)
    finally:
        web.stop()

    output = web.log.read_text()
    (line,) = [line for line in output.splitlines() if WARNING in line]
    master = re.search(r"Listening at: \S+ \((\d+)\)", output)[1]
    assert f"[{master}] [WARNING] {WARNING}" in line


class TestInProcess:
    def test_the_key_alone_is_one_warning_an_account_or_no_key_none(self, settings):
        settings.ACLED_API_KEY, settings.ACLED_EMAIL, settings.ACLED_PASSWORD = "an old key", "", ""
        (message,) = checks.start_up_warnings()
        assert message.startswith(WARNING)
        assert message.endswith("remove ACLED_API_KEY (docs/imports.md, 'Sync from ACLED').")

        settings.ACLED_EMAIL, settings.ACLED_PASSWORD = "analyst@example.org", "pw"
        assert checks.start_up_warnings() == []
        settings.ACLED_API_KEY, settings.ACLED_EMAIL, settings.ACLED_PASSWORD = "", "", ""
        assert checks.start_up_warnings() == []

    def test_a_process_says_it_once_whoever_asks(self, settings, monkeypatch, caplog):
        settings.ACLED_API_KEY, settings.ACLED_EMAIL, settings.ACLED_PASSWORD = "an old key", "", ""
        monkeypatch.setattr(checks, "_said", False)
        logger = logging.getLogger("posture.start_up")

        with caplog.at_level(logging.WARNING):
            first = checks.warn_at_start_up(logger)
            again = checks.warn_at_start_up(logger)

        assert len(first) == 1
        assert again == []
        assert [(r.name, r.levelname) for r in caplog.records] == [("posture.start_up", "WARNING")]
