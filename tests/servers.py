"""Throwaway PostgreSQL, Redis and gunicorn processes for tests that stop and start them.

The team's private services under var/ are shared by everyone's test runs and must never be stopped,
so the fault tests build their own: a fresh cluster and a Redis on Unix sockets inside a temporary
directory, and the site served by a real gunicorn against them.
"""

from __future__ import annotations

import http.client
import http.cookies
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"


def pg_bin() -> Path:
    return sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))[-1]


def as_pg_owner(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root (as scripts/dev's as_pg_owner)."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def wait_for(predicate, what: str, timeout: float = 30.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(interval)


COMMAND_TIMEOUT = 180.0  # seconds: initdb, a migrate, a dump or a restore of the small test data


def run(args: list[str], *, timeout: float = COMMAND_TIMEOUT, **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run with a deadline, whose failure shows the command's own output (CalledProcessError's
    message leaves it out, and a failed migrate then says nothing of why)."""
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError(f"gave up waiting for {' '.join(map(str, args))} after {timeout:g} s") from exc
    if result.returncode != 0:
        raise CommandFailed(result.returncode, args, result.stdout, result.stderr)
    return result


class CommandFailed(subprocess.CalledProcessError):
    def __str__(self) -> str:
        return f"{super().__str__()}\n{self.stdout[-2000:]}{self.stderr[-4000:]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to a process started with start_new_session=True and everything it forked (a Celery worker's
    pool, an embedded beat), then SIGKILL to what is left after 30 s."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def make_tempdir(prefix: str) -> Path:
    """A directory the postgres user can reach (pytest's tmp_path lives under a root-only 0700 folder)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


class Postgres:
    """A PostgreSQL cluster in `directory`, listening only on a Unix socket there."""

    def __init__(self, directory: Path, port: int = 54390) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.port = port
        self.user = "posture"

    def _run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return run(as_pg_owner(list(args)), **kwargs)

    def init(self) -> None:
        self.data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
            shutil.chown(self.data, "postgres")
        self._run(str(pg_bin() / "initdb"), "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"listen_addresses = ''\nport = {self.port}\nunix_socket_directories = '{self.directory}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "wal_level = replica\nmax_wal_senders = 4\n"
            )
        with open(self.data / "pg_hba.conf", "a") as hba:
            hba.write("local replication all trust\n")

    def init_standby_of(self, primary: Postgres) -> None:
        """A streaming replica of `primary` (pg_basebackup -R), listening on its own socket and port."""
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
        self._run(
            str(pg_bin() / "pg_basebackup"), "-h", str(primary.directory), "-p", str(primary.port), "-U", primary.user,
            "-D", str(self.data), "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"port = {self.port}\nunix_socket_directories = '{self.directory}'\n")

    def start(self) -> None:
        self._run(
            str(pg_bin() / "pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "server.log"), "-w", "start"
        )

    def stop(self) -> None:
        self._run(str(pg_bin() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def is_running(self) -> bool:
        status = subprocess.run(
            as_pg_owner([str(pg_bin() / "pg_ctl"), "-D", str(self.data), "status"]), capture_output=True, timeout=30
        )
        return status.returncode == 0

    def url(self, database: str) -> str:
        return f"postgis://{self.user}@{quote(str(self.directory), safe='')}:{self.port}/{database}"

    def psql(self, database: str, sql: str) -> str:
        """Run SQL as the cluster's superuser and return the unaligned, tuples-only output."""
        result = run(
            [str(pg_bin() / "psql"), "-h", str(self.directory), "-p", str(self.port), "-U", self.user, "-d", database,
             "-v", "ON_ERROR_STOP=1", "-tAc", sql],
        )  # fmt: skip
        return result.stdout.strip()

    def connect(self, database: str):
        import psycopg

        return psycopg.connect(
            host=str(self.directory), port=self.port, user=self.user, dbname=database, autocommit=True
        )

    def createdb(self, name: str) -> None:
        self.psql("postgres", f'CREATE DATABASE "{name}"')


class Redis:
    """A redis-server on a Unix socket in `directory`, keeping nothing on disk."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"unix://{self.socket}?db={db}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory),
             "--logfile", str(self.directory / "redis.log")],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(self.ping, "redis to answer")

    def ping(self) -> bool:
        result = subprocess.run(
            ["redis-cli", "-s", str(self.socket), "ping"], capture_output=True, text=True, timeout=10
        )
        return result.stdout.strip() == "PONG"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


class WebServer:
    """The site under gunicorn (config/gunicorn.py), in production mode, against the given services."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.port = free_port()
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(directory),
            "DJANGO_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "MAP_TILE_URL": "",
            "STATIC_ROOT": str(directory / "static"),
            "MEDIA_ROOT": str(directory / "media"),
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_ACCESS_LOG": str(directory / "access.log"),
            **env,
        }
        self.process: subprocess.Popen | None = None
        self.log = directory / "gunicorn.log"

    def manage(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return run([sys.executable, str(ROOT / "manage.py"), *args], env={**self.env, **(env or {})}, cwd=ROOT)

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(VENV_BIN / "gunicorn"), "--config", "config/gunicorn.py", "--no-control-socket", "config.wsgi"],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(self._answers, "gunicorn to answer /healthz")

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{self.log.read_text()[-3000:]}")
        try:
            return self.get("/healthz").status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=40)
            self.process = None

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> Response:
        """One request, redirects not followed. Sends X-Forwarded-Proto: https as the TLS proxy would,
        unless headers say otherwise."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers={"X-Forwarded-Proto": "https", **(headers or {})})
            response = connection.getresponse()
            return Response(response.status, response.headers, response.read())
        finally:
            connection.close()

    def get(self, path: str, headers: dict | None = None) -> Response:
        return self.request("GET", path, headers=headers)


class Session:
    """A logged-in browser in miniature: keeps cookies and sends the CSRF token and Origin Django wants."""

    def __init__(self, web: WebServer) -> None:
        self.web = web
        self.cookies: dict[str, str] = {}
        self.set_cookie_headers: list[str] = []  # as received, flags and all

    def request(self, method: str, path: str, form: dict | None = None) -> Response:
        headers = {"Origin": f"https://127.0.0.1:{self.web.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            from urllib.parse import urlencode

            body = urlencode(form, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = self.web.request(method, path, body=body, headers=headers)
        for header in response.headers.get_all("Set-Cookie") or []:
            self.set_cookie_headers.append(header)
            for name, morsel in http.cookies.SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response

    def csrf_token(self, path: str) -> str:
        page = self.request("GET", path)
        assert page.status == 200, (path, page.status)
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)

    def login(self, username: str, password: str) -> None:
        token = self.csrf_token("/admin/login/")
        form = {"csrfmiddlewaretoken": token, "username": username, "password": password, "next": "/admin/"}
        response = self.request("POST", "/admin/login/?next=/admin/", form)
        assert response.status == 302, response.text[:500]
