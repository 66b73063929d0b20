from pathlib import Path

from django.core.management.base import BaseCommand

from ops.backups import default_backup_path, dump_database


class Command(BaseCommand):
    help = "Back up the database with pg_dump -Fc (default: var/backups/posture-<UTC time>.dump)."

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", type=Path, help="where to write the dump")
        parser.add_argument("--database", default="default", help="database alias (default: default)")

    def handle(self, *args, output: Path | None, database: str, **options):
        path = dump_database(output or default_backup_path(), alias=database)
        self.stdout.write(f"Backed up to {path} ({path.stat().st_size} bytes)")
