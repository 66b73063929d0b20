from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from ops.sql_objects import differences, fully_migrated, sync


class Command(BaseCommand):
    help = (
        "Apply the functions and triggers of every app's sql/ folder to the database (migrate does this too), "
        "or with --check only list what differs, exiting 1 if anything does."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="change nothing; fail if the database differs")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="database alias (default: default)")

    def handle(self, *args, check: bool, database: str, **options):
        if not fully_migrated(connections[database]):
            raise CommandError("The database has unapplied migrations: run migrate, which applies the files too.")
        if check:
            found = differences(database)
            if found:
                raise CommandError("The database differs from the sql/ files:\n\n" + "\n\n".join(found))
            self.stdout.write("The database's functions and triggers are those of the sql/ files.")
            return
        applied = sync(database)
        for definition in applied:
            self.stdout.write(f"Applied {definition}")
        if not applied:
            self.stdout.write("Nothing to apply: the database's functions and triggers are those of the files.")
