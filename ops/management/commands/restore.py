from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ops.backups import restore_database


class Command(BaseCommand):
    help = (
        "Restore a `manage.py backup` file into the configured database, which should be new and empty "
        "(createdb); --clean replaces what an existing database holds. All or nothing, unless --jobs > 1."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="a pg_dump -Fc file")
        parser.add_argument("--database", default="default", help="database alias (default: default)")
        parser.add_argument("--clean", action="store_true", help="drop the objects the dump recreates first")
        parser.add_argument("--jobs", type=int, default=1, help="parallel restore (then not atomic)")

    def handle(self, *args, path: Path, database: str, clean: bool, jobs: int, **options):
        if not path.is_file():
            raise CommandError(f"No backup file at {path}")
        restore_database(path, alias=database, clean=clean, jobs=jobs)
        self.stdout.write(f"Restored {path}")
