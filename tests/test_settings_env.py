"""One settings module, driven by the environment: development needs nothing, production refuses unsafe
configurations at start-up."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


PRINT_DEBUG = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"


PRINT_DATABASE_OPTIONS = (
    "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"
)


def load_settings(script=PRINT_DEBUG, **env):
    base = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DJANGO_ENV", "ALLOWED_HOSTS"}}
    return subprocess.run(
        [sys.executable, "-c", script],
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_development_needs_no_configuration():
    result = load_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_production_refuses_to_start_without_a_secret_key():
    result = load_settings(DJANGO_ENV="production")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_with_debug_on():
    result = load_settings(DJANGO_ENV="production", SECRET_KEY="x" * 60, DEBUG="true")
    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr


def test_production_starts_with_a_secret_key():
    result = load_settings(DJANGO_ENV="production", SECRET_KEY="x" * 60, ALLOWED_HOSTS="posture.example.org")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("PORT", "eighty"),
        ("DJANGO_ENV", "staging"),
        ("EXPORT_STATEMENT_TIMEOUT", "5s'; --"),
        ("DATABASE_STATEMENT_TIMEOUT", "15s -c default_transaction_read_only=on"),
        ("DATABASE_STATEMENT_TIMEOUT", "a while"),
    ],
)
def test_bad_values_fail_loudly(name, value):
    result = load_settings(**{name: value})
    assert result.returncode != 0
    assert name in result.stderr


@pytest.mark.parametrize(
    ("value", "option"),
    [("15s", "statement_timeout=15s"), ("5 min", "statement_timeout=5min"), ("15000", "statement_timeout=15000")],
)
def test_the_statement_timeout_goes_into_the_connection_options(value, option):
    result = load_settings(PRINT_DATABASE_OPTIONS, DATABASE_STATEMENT_TIMEOUT=value)
    assert result.returncode == 0, result.stderr
    assert f"-c {option}'" in result.stdout


def test_no_statement_timeout_by_default():
    result = load_settings(PRINT_DATABASE_OPTIONS, DATABASE_STATEMENT_TIMEOUT="")
    assert result.returncode == 0, result.stderr
    assert "statement_timeout" not in result.stdout
