"""The database's own functions and triggers, each defined once in a file that shows what PostgreSQL runs.

Each app that owns such objects keeps them in its `sql/` folder (only .sql files, no Python): a function in
`<name>.sql`, as `pg_get_functiondef()` prints it, and a trigger in `triggers/<table>.<trigger>.sql`, as
`pg_get_triggerdef(oid, true)` prints it. Comment lines (`--`) above the statement say why it exists, and a
final `;` lets a file be pasted into psql; neither is part of the definition compared with the database. To
change or add an object, edit or add its file: `migrate` applies it, or `manage.py sync_sql_objects`.

After every `migrate` that leaves the database fully migrated, the files are applied in one transaction: a
function whose definition differs with CREATE OR REPLACE, a trigger that differs or is missing dropped and
created again. A partial or backward migrate applies nothing: today's bodies may read columns that
yesterday's tables lack. Migrations therefore create the tables and never carry a body forward; the
historical ones that did still replay on an empty database, and this step then brings their objects to the
files' definitions. Nothing is ever dropped here: an object whose file goes needs a migration to drop it
(and its file gone), and `manage.py sync_sql_objects --check` names every object without a file and every
file without its object. A function whose arguments or result type change needs a migration with DROP
FUNCTION as well, since CREATE OR REPLACE cannot change them.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor

FOLDER = "sql"
TRIGGERS = "triggers"

# The functions of schema public that no extension (PostGIS, pg_trgm) installed, and the triggers that are
# not a foreign key's or another constraint's own (a CONSTRAINT TRIGGER written by hand is listed).
IN_DATABASE = """
SELECT 'function', p.proname, pg_get_functiondef(p.oid)
FROM pg_proc AS p
JOIN pg_namespace AS n ON n.oid = p.pronamespace
WHERE n.nspname = 'public'
  AND NOT EXISTS (SELECT FROM pg_depend AS d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 'trigger', c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid, true)
FROM pg_trigger AS t
JOIN pg_class AS c ON c.oid = t.tgrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND NOT t.tgisinternal
"""


@dataclass(frozen=True)
class Definition:
    kind: str  # "function" or "trigger"
    name: str  # a function's name, or a trigger's "<table>.<trigger>"
    sql: str  # as PostgreSQL prints it, without a final ";"

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


def definition(text: str) -> str:
    """A file's statement without the comment lines above it and the final `;` (and a database's the same)."""
    lines = text.splitlines()
    while lines and (not lines[0].strip() or lines[0].startswith("--")):
        lines.pop(0)
    return "\n".join(lines).rstrip().removesuffix(";").rstrip()


def in_files() -> dict[tuple[str, str], Definition]:
    """Every app's sql/ folder, read by path (the apps' Python modules are not imported)."""
    found: dict[tuple[str, str], Definition] = {}
    for app_config in apps.get_app_configs():
        folder = Path(app_config.path) / FOLDER
        paths = [("function", path) for path in sorted(folder.glob("*.sql"))]
        paths += [("trigger", path) for path in sorted((folder / TRIGGERS).glob("*.sql"))]
        for kind, path in paths:
            key = (kind, path.stem)
            if key in found:
                raise ValueError(f"{kind} {path.stem} is defined twice, the second time in {path}")
            found[key] = Definition(kind, path.stem, definition(path.read_text()))
    return found


def in_database(using: str = DEFAULT_DB_ALIAS) -> dict[tuple[str, str], Definition]:
    with connections[using].cursor() as cursor:
        cursor.execute(IN_DATABASE)
        rows = cursor.fetchall()
    found: dict[tuple[str, str], Definition] = {}
    for kind, name, text in rows:
        if (kind, name) in found:
            # One file per name: an overload (a function whose arguments changed without a DROP) is drift.
            raise ValueError(f"{kind} {name} exists more than once in the database (drop the old overload)")
        found[(kind, name)] = Definition(kind, name, definition(text))
    return found


def differences(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """What differs between the database and the files, one message per object; empty when they agree."""
    files, database = in_files(), in_database(using)
    messages = []
    for key in sorted(files.keys() | database.keys()):
        wanted, current = files.get(key), database.get(key)
        if current is None:
            messages.append(f"{wanted}: in its file, not in the database")
        elif wanted is None:
            messages.append(f"{current}: in the database, without a file in any app's {FOLDER}/ folder")
        elif wanted.sql != current.sql:
            diff = difflib.unified_diff(
                current.sql.splitlines(), wanted.sql.splitlines(), "database", "file", lineterm=""
            )
            messages.append(f"{wanted}: the database's definition differs from its file\n" + "\n".join(diff))
    return messages


def sync(using: str = DEFAULT_DB_ALIAS) -> list[Definition]:
    """Apply every file whose object is missing or differs, in one transaction; return what was applied."""
    connection = connections[using]
    with transaction.atomic(using=using):
        database = in_database(using)
        changed = [wanted for key, wanted in in_files().items() if database.get(key) != wanted]
        functions = [wanted for wanted in changed if wanted.kind == "function"]
        with connection.cursor() as cursor:
            if functions:
                # A SQL function's body is checked when it is created, and may call a function whose file
                # comes later: all are created unchecked first, then once more checked, with all present.
                cursor.execute("SET LOCAL check_function_bodies = off")
                for function in functions:
                    cursor.execute(function.sql)
                cursor.execute("SET LOCAL check_function_bodies = on")
                for function in functions:
                    cursor.execute(function.sql)
            for trigger in changed:
                if trigger.kind == "trigger":
                    table, name = trigger.name.split(".")
                    quote = connection.ops.quote_name
                    cursor.execute(f"DROP TRIGGER IF EXISTS {quote(name)} ON {quote(table)}")
                    cursor.execute(trigger.sql)
    return changed


def fully_migrated(connection: BaseDatabaseWrapper) -> bool:
    executor = MigrationExecutor(connection)
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())


def sync_after_migrate(sender, app_config, verbosity=1, using=DEFAULT_DB_ALIAS, plan=None, stdout=None, **kwargs):
    """post_migrate's receiver. The signal is sent once per app after a migrate, and after a flush (which
    passes no plan and changes no definition): the files are applied once, after the last app's."""
    last = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
    if plan is None or app_config.label != last.label or not router.allow_migrate(using, "ops"):
        return
    if not fully_migrated(connections[using]):
        return
    applied = sync(using)
    if applied and verbosity >= 1 and stdout is not None:
        stdout.write(f"Applied the files of {len(applied)} SQL objects: {', '.join(map(str, applied))}\n")
