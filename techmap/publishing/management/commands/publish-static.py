from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from techmap.publishing.publish import LIST_PAGES, PublishError, publish_static


class Command(BaseCommand):
    help = (
        "Render the public site (map, entry, company, country, statistics, data and release "
        "pages, the API answers the map needs, downloads and static files) into OUTDIR, for "
        "any static host or CDN. Synthetic benchmark entries are left out. OUTDIR is replaced "
        "only when the new copy is complete."
    )

    def add_arguments(self, parser):
        parser.add_argument("outdir", help="Folder to write (new, empty, or an earlier copy).")
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="The address the copy will be served at, used in citations and absolute links.",
        )
        parser.add_argument(
            "--live-url",
            default="",
            help="Address of a live techmap for the submission form; without it the copy's "
            "/submit/ page explains that submissions need the live site.",
        )
        parser.add_argument(
            "--list-pages",
            type=int,
            default=LIST_PAGES,
            help="How many pages of /entries/ to write; the map's list view shows the rest.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Render everything, report, write nothing.",
        )

    def handle(self, *args, **options):
        if options["list_pages"] < 1:
            raise CommandError("--list-pages must be at least 1")
        try:
            result = publish_static(
                Path(options["outdir"]),
                base_url=options["base_url"],
                live_url=options["live_url"],
                list_pages=options["list_pages"],
                dry_run=options["dry_run"],
            )
        except PublishError as exc:
            raise CommandError(str(exc)) from None
        verb = "Would write" if options["dry_run"] else "Wrote"
        self.stdout.write(
            f"{verb} {result.entries} entries: {result.pages} pages, {result.files} files, "
            f"{result.bytes / 1e6:.1f} MB in {result.seconds:.1f} s to {result.output}"
        )
