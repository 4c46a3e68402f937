from django.core.management.base import BaseCommand, CommandError

from techmap.catalog.dataset import DatasetError, load_dataset


class Command(BaseCommand):
    help = (
        "Create or migrate the database and load the bundled dataset. Running it again "
        "changes nothing. --empty loads the companies, categories and topics but no entries."
    )

    def add_arguments(self, parser):
        parser.add_argument("--empty", action="store_true", help="Load no entries.")
        parser.add_argument(
            "--update",
            action="store_true",
            help="Also bring rows that already exist back in line with the bundled files "
            "(overwrites edits made to them in the admin).",
        )

    def handle(self, *args, empty=False, update=False, **options):
        try:
            written = load_dataset(entries=not empty, update=update)
        except DatasetError as exc:
            raise CommandError(str(exc)) from None
        changed = ", ".join(f"{n} {kind}" for kind, n in written.items() if n)
        self.stdout.write(f"Database ready. Written: {changed or 'nothing (already up to date)'}.")
