from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from techmap.catalog.models import Entry
from techmap.exchange.importers import FORMATS, ImportFormatError, run_import


class Command(BaseCommand):
    help = (
        "Import entries from PATH. Formats: aspi (the China Tech Map's data.csv), "
        "telegeography (a folder of TeleGeography submarine cable JSON files), and csv, xlsx "
        "or geojson (techmap's own exports). Every row is validated first: if any row is "
        "invalid nothing is written (unless --skip-invalid) and the exit status is non-zero. "
        "All writes happen in one transaction. Importing the same file twice changes nothing."
    )
    # The system checks import every URL module: a third of a small import's time, and
    # nothing they check matters to it (the server and `techmap check` run them).
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("path", help="The file (or, for telegeography, the folder).")
        parser.add_argument("--format", required=True, choices=FORMATS, help="Format of PATH.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Validate and report what would be created or updated; write nothing.",
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Write the valid rows and list the invalid ones (exit status stays non-zero).",
        )
        parser.add_argument(
            "--status",
            choices=[Entry.Status.DRAFT, Entry.Status.PUBLISHED],
            default=Entry.Status.PUBLISHED,
            help="Status of imported entries (default: published). Retired entries stay retired.",
        )
        parser.add_argument(
            "--aliases",
            metavar="FILE",
            help='telegeography only: JSON {"company-slug": ["owner name", ...]} replacing '
            "the built-in owner aliases of those companies.",
        )

    def handle(self, *args, path, format, dry_run, skip_invalid, status, aliases, **options):
        alias_map = None
        if aliases:
            from techmap.exchange.importers.telegeography import read_aliases

            try:
                alias_map = read_aliases(Path(aliases))
            except ImportFormatError as exc:
                raise CommandError(str(exc)) from None
        try:
            report = run_import(
                path,
                format,
                dry_run=dry_run,
                skip_invalid=skip_invalid,
                status=status,
                aliases=alias_map,
            )
        except ImportFormatError as exc:
            raise CommandError(str(exc)) from None
        except DatabaseError as exc:
            raise CommandError(
                f"The database refused the import, nothing was written: {exc}"
            ) from None
        for error in report.errors:
            self.stderr.write(str(error))
        blocked = report.invalid and not skip_invalid
        if blocked:
            prefix = "Nothing written: "
        elif report.dry_run:
            prefix = "Dry run, nothing written: would have "
        else:
            prefix = ""
        self.stdout.write(prefix + report.summary())
        if report.invalid:
            what = "found; nothing was written" if blocked else "skipped"
            raise CommandError(f"{report.invalid} invalid row(s) {what}.")
