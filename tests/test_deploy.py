"""docker-compose.yml and the Dockerfile stay consistent with the settings.

Docker does not run on our machines, so these read the files: the compose file parses, runs the five
services the site needs plus the proxy, scales (no fixed host port on web), and passes only variables
the settings read, and production settings pass `check --deploy` with exactly that environment.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import dj_database_url
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("migrate", "web", "worker", "beat")
# Issue 2: one settings module driven by these, in every process.
CORE_VARIABLES = {
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "PORT",
    "MAP_TILE_URL",
    "DJANGO_ENV",
}
SAMPLE = {"SECRET_KEY": secrets.token_urlsafe(50), "POSTGRES_PASSWORD": "pw", "ALLOWED_HOSTS": "dashboard.example.org"}


def interpolate(value, variables: dict[str, str]):
    """Compose's ${NAME}, ${NAME-default}, ${NAME:-default} and ${NAME:?error}, for the values we use."""
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        name, operator, argument = match.group(1), match.group(2) or "", match.group(3) or ""
        if name in variables and (variables[name] or operator in ("-", "")):
            return variables[name]
        if operator.endswith("?"):
            raise KeyError(f"{name}: {argument}")
        return argument

    return re.sub(r"\$\{([A-Z_0-9]+)(:?[-?])?([^}]*)\}", substitute, value)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def environment(compose: dict, service: str, variables: dict[str, str] = SAMPLE) -> dict[str, str | None]:
    env = compose["services"][service]["environment"]
    return {name: interpolate(value, variables) for name, value in env.items()}


def settings_variables() -> set[str]:
    """Every environment variable config/settings.py and config/gunicorn.py read."""
    text = (ROOT / "config" / "settings.py").read_text() + (ROOT / "config" / "gunicorn.py").read_text()
    return set(
        re.findall(
            r'(?:env_str|env_bool|env_int|env_list|os\.environ\.get|os\.environ\.setdefault)\(\s*"([A-Z_0-9]+)"', text
        )
    ) | set(re.findall(r'os\.environ\["([A-Z_0-9]+)"\]', text))


def test_the_compose_file_runs_the_sites_services_and_the_web_tier_scales(compose):
    services = compose["services"]

    assert set(services) == {"postgis", "redis", "migrate", "web", "worker", "beat", "proxy"}
    assert services["postgis"]["image"].startswith("postgis/postgis:")
    assert services["redis"]["image"].startswith("redis:")
    # --scale web=3 --scale worker=4: only the proxy binds a host port.
    assert [name for name, service in services.items() if "ports" in service] == ["proxy"]
    assert all("container_name" not in service for service in services.values())
    assert services["web"]["command"] == [
        "gunicorn",
        "--config",
        "config/gunicorn.py",
        "--no-control-socket",
        "config.wsgi",
    ]
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]
    assert services["proxy"]["volumes"] == ["./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro"]
    assert (ROOT / "deploy" / "nginx.conf").is_file()
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


@pytest.mark.parametrize("service", APP_SERVICES)
def test_every_process_gets_the_same_core_configuration(compose, service):
    env = environment(compose, service)

    assert set(env) >= CORE_VARIABLES
    assert env["DJANGO_ENV"] == "production"
    assert env["DEBUG"] == "false"
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    database = dj_database_url.parse(env["DATABASE_URL"], engine="django.contrib.gis.db.backends.postgis")
    assert (database["HOST"], database["NAME"], database["USER"], database["PASSWORD"]) == (
        "postgis",
        "posture",
        "posture",
        "pw",
    )
    postgis = compose["services"]["postgis"]["environment"]
    assert (postgis["POSTGRES_DB"], postgis["POSTGRES_USER"]) == ("posture", "posture")


@pytest.mark.parametrize("service", APP_SERVICES)
def test_the_compose_file_passes_only_variables_the_settings_read(compose, service):
    assert set(environment(compose, service)) - settings_variables() == set()


def test_secrets_have_no_default(compose):
    with pytest.raises(KeyError, match="SECRET_KEY"):
        environment(compose, "web", {k: v for k, v in SAMPLE.items() if k != "SECRET_KEY"})


def test_production_settings_pass_check_deploy_with_the_web_environment(compose):
    env = {k: v for k, v in environment(compose, "web").items() if v is not None}
    env["PATH"] = "/usr/bin:/bin"

    check = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert check.returncode == 0, check.stdout + check.stderr
    assert "no issues" in check.stdout


def test_the_dockerfile_builds_from_files_that_exist_and_runs_what_compose_runs(compose):
    dockerfile = (ROOT / "Dockerfile").read_text()
    sources = [
        part for line in re.findall(r"^COPY (?!--from)(.+)$", dockerfile, re.MULTILINE) for part in line.split()[:-1]
    ]

    assert sources
    assert all((ROOT / source).exists() for source in sources), sources
    assert "FROM python:3.11-slim-bookworm" in dockerfile
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE).group(1)
    assert yaml.safe_load(cmd) == compose["services"]["web"]["command"]
    # The image's pg_dump (Debian bookworm: PostgreSQL 15) must not be older than the server.
    assert compose["services"]["postgis"]["image"].split(":")[1].startswith("15-")


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose (Debian package) not installed")
def test_docker_compose_itself_accepts_the_file():
    env = {"PATH": "/usr/bin:/bin", **SAMPLE}

    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config", "-q"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
