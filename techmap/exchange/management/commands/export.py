from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from techmap.catalog.queries import FilterError, parse_filters
from techmap.exchange.export import FORMATS, ExportError, export_entries, export_to_path

FILTER_OPTIONS = ("company", "category", "country", "topic")


class Command(BaseCommand):
    help = (
        "Write the published entries (optionally filtered as in the API) as CSV, GeoJSON, "
        "XLSX or a Frictionless Data Package. The output is replaced only when complete."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", required=True, choices=FORMATS, help="Output format.")
        parser.add_argument(
            "--output",
            required=True,
            help="File to write; for datapackage a folder, or a file ending in .zip.",
        )
        for name in FILTER_OPTIONS:
            parser.add_argument(
                f"--{name}",
                action="append",
                default=[],
                help=f"Only entries with this {name} (slug; country: ISO2 code). Repeatable.",
            )
        parser.add_argument("--year-from", help="Only entries active in or after this year.")
        parser.add_argument("--year-to", help="Only entries started in or before this year.")
        parser.add_argument("--q", default="", help="Only entries matching this text.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Count the matching entries; write nothing."
        )

    def handle(self, *args, **options):
        params = QueryDict(mutable=True)
        for name in FILTER_OPTIONS:
            params.setlist(name, options[name])
        for name in ("year_from", "year_to", "q"):
            if options[name]:
                params[name] = str(options[name])
        try:
            filters = parse_filters(params)
        except FilterError as exc:
            raise CommandError(f"bad filter: {exc}") from None
        output = Path(options["output"]).expanduser()
        if not output.parent.is_dir():
            raise CommandError(f"folder {output.parent} does not exist")
        entries = export_entries(filters)
        if options["dry_run"]:
            self.stdout.write(f"Would write {entries.count()} published entries to {output}.")
            return
        try:
            count = export_to_path(entries, options["format"], output)
        except (ExportError, OSError) as exc:
            raise CommandError(f"export failed: {exc}") from None
        self.stdout.write(f"Wrote {count} published entries to {output} ({options['format']}).")
