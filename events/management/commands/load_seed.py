from django.core.management.base import BaseCommand

from events.seed.load import load_seed


class Command(BaseCommand):
    help = "Load the seed data (the strategic assessment's facts and the public facts the map needs). Idempotent."

    def handle(self, *args, **options):
        written = load_seed()
        if written:
            summary = ", ".join(f"{count} {name}" for name, count in sorted(written.items()))
            self.stdout.write(f"Seed data loaded: {summary} created or updated.")
        else:
            self.stdout.write("Seed data already up to date.")
