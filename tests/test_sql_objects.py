"""The database's functions and triggers are those of the apps' sql/ files (ops/sql_objects.py), and stay so."""

import re

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from ops.sql_objects import in_database, in_files, sync

pytestmark = pytest.mark.django_db

# The migrations written before the sql/ files, which created or changed functions and triggers themselves.
# They stay as they are, to replay on an empty database; no later migration carries a definition.
HISTORICAL = {
    "events/migrations/0008_incident_cells.py",
    "events/migrations/0010_incident_sides.py",
    "events/migrations/0012_incident_actor_names.py",
    "events/migrations/0014_incidentcell_trigger_hash_join.py",
    "events/migrations/0016_incident_sides_function.py",
    "ops/migrations/0001_data_version.py",
    "ops/migrations/0002_suggestion_tables.py",
}
DEFINES = re.compile(
    r"CREATE\s+(OR\s+REPLACE\s+)?(CONSTRAINT\s+)?(FUNCTION|TRIGGER)|ALTER\s+FUNCTION|ops_dataversion_triggers\(",
    re.IGNORECASE,
)

CHANGED_BY_HAND = """
CREATE OR REPLACE FUNCTION events_incident_sides_rebuild() RETURNS void LANGUAGE sql AS $$ SELECT $$
"""


def definitions(found: dict, kind: str) -> dict[str, str]:
    return {name: definition.sql for (of_kind, name), definition in found.items() if of_kind == kind}


def test_every_function_in_the_database_is_the_one_its_file_defines():
    in_db = definitions(in_database(), "function")

    assert in_db == definitions(in_files(), "function")
    assert "events_incident_sides_refresh" in in_db


def test_every_trigger_in_the_database_is_the_one_its_file_defines():
    in_db = definitions(in_database(), "trigger")

    assert in_db == definitions(in_files(), "trigger")
    # A constraint trigger is one of them (the data version's bump at commit).
    assert in_db["ops_datawrite.ops_datawrite_commit"].startswith("CREATE CONSTRAINT TRIGGER")


def test_the_project_has_no_views_of_its_own():
    """The sql/ files hold functions and triggers only: a view would need its kind added to ops/sql_objects.py
    before a migration creates one (PostGIS's own views are an extension's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm') AND NOT EXISTS ("
            "  SELECT FROM pg_depend AS d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid"
            "  AND d.deptype = 'e')"
        )
        assert cursor.fetchall() == []


def test_a_second_sync_changes_nothing():
    sync()

    assert sync() == []


def test_the_sync_puts_back_a_function_changed_by_hand_and_a_trigger_dropped():
    with connection.cursor() as cursor:
        cursor.execute(CHANGED_BY_HAND)
        cursor.execute("DROP TRIGGER events_incidentcell_insert ON events_incident")

    applied = sync()

    assert sorted(map(str, applied)) == [
        "function events_incident_sides_rebuild",
        "trigger events_incident.events_incidentcell_insert",
    ]
    assert in_database() == in_files()


def test_the_check_fails_naming_the_object_that_differs():
    call_command("sync_sql_objects", "--check", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(CHANGED_BY_HAND)

    with pytest.raises(CommandError) as failed:
        call_command("sync_sql_objects", "--check", verbosity=0)

    message = str(failed.value)
    assert "function events_incident_sides_rebuild: the database's definition differs from its file" in message
    assert "+    SELECT events_incident_sides_refresh(ARRAY(SELECT id FROM events_incident))" in message
    assert message.count("differs from its file") == 1


def test_migrate_applies_the_files_only_once_the_database_is_fully_migrated():
    """A partial or backward migrate leaves today's definitions out: they may read what older tables lack."""
    with connection.cursor() as cursor:
        cursor.execute(CHANGED_BY_HAND)

    call_command("migrate", "events", "0015", fake=True, verbosity=0)
    assert in_database()[("function", "events_incident_sides_rebuild")].sql.endswith("AS $function$ SELECT $function$")

    call_command("migrate", fake=True, verbosity=0)
    assert in_database() == in_files()


def test_no_migration_defines_a_function_or_trigger_but_the_historical_ones():
    """The issue's `git grep -c "CREATE OR REPLACE FUNCTION" -- '*/migrations/*'`, and CREATE FUNCTION,
    CREATE TRIGGER, ALTER FUNCTION and the data version's trigger helper with it."""
    defining = {
        path.relative_to(settings.BASE_DIR).as_posix()
        for path in settings.BASE_DIR.glob("*/migrations/*.py")
        if DEFINES.search(path.read_text())
    }

    assert defining == HISTORICAL
