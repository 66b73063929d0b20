"""pg_dump / pg_restore against a configured database, for `make backup` and `make restore`.

The custom format (-Fc) is compressed, restores selectively and in parallel, and carries the PostGIS
extension with it. Connection details go to the PostgreSQL tools through libpq's environment
variables, so that a password never shows in the process list.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

from django.conf import settings
from django.db import connections


def libpq_environment(alias: str = "default") -> dict[str, str]:
    database = connections[alias].settings_dict
    env = dict(os.environ)
    for variable, key in [("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"), ("PGPASSWORD", "PASSWORD")]:
        if database.get(key):
            env[variable] = str(database[key])
    env["PGDATABASE"] = database["NAME"]
    if database.get("OPTIONS", {}).get("sslmode"):
        env["PGSSLMODE"] = database["OPTIONS"]["sslmode"]
    return env


def pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise FileNotFoundError(f"{name} is not installed (Debian: postgresql-client)")
    return path


def default_backup_path(now: dt.datetime | None = None) -> Path:
    now = now or dt.datetime.now(dt.UTC)
    return Path(settings.BACKUP_DIR) / f"posture-{now:%Y%m%dT%H%M%SZ}.dump"


def dump_database(path: Path, *, alias: str = "default") -> Path:
    """Write the whole database to `path` with pg_dump -Fc."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name, so that a dump cut short never looks like a good backup.
    partial = path.with_name(path.name + ".partial")
    subprocess.run(  # noqa: S603 - a fixed argument list, no shell
        [pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}"],
        env=libpq_environment(alias),
        check=True,
    )
    partial.replace(path)
    return path


def restore_database(path: Path, *, alias: str = "default", clean: bool = False, jobs: int = 1) -> None:
    """Load a pg_dump -Fc file into the database: all of it or nothing (one transaction)."""
    command = [
        pg_tool("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        f"--dbname={libpq_environment(alias)['PGDATABASE']}",
    ]
    if clean:
        command += ["--clean", "--if-exists"]
    # --single-transaction and --jobs exclude each other: parallel restores are not atomic.
    command += [f"--jobs={jobs}"] if jobs > 1 else ["--single-transaction"]
    subprocess.run([*command, str(path)], env=libpq_environment(alias), check=True)  # noqa: S603 - no shell
    # The restored data version's numbers may come round again with other data behind them: cached answers
    # (api/caching.py) of the database as it was must not match it as it is now.
    # (A dump older than that migration has no such function; migrate then creates the row afresh.)
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT to_regprocedure('ops_dataversion_new_epoch()') IS NOT NULL")
        if cursor.fetchone()[0]:
            cursor.execute("SELECT ops_dataversion_new_epoch()")
