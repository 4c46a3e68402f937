import json

from django.core.management.base import BaseCommand, CommandError

from techmap.releases.changelog import diff_releases
from techmap.releases.models import Release
from techmap.releases.release import ReleaseError, create_release, get_release


class Command(BaseCommand):
    help = (
        "Freeze the published dataset as a named, immutable release (CSV, GeoJSON, Data "
        "Package, counts, date), list releases, or show what changed between two releases."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser(
            "create",
            help="Freeze the published entries as release NAME.",
            description="Freeze the published entries (never drafts, retired or private "
            "data) as release NAME under DATA_DIR/releases/NAME/. A name is used only once.",
        )
        create.add_argument("name", metavar="NAME", help="Release name, e.g. 2026-11 or v1.")
        create.add_argument("--notes", default="", help="What this release is, in plain words.")
        create.add_argument(
            "--dry-run", action="store_true", help="Count what would be frozen; write nothing."
        )
        actions.add_parser("list", help="List the releases, newest first.")
        diff = actions.add_parser(
            "diff",
            help="Entries added, changed (which fields) and removed from release A to B.",
        )
        diff.add_argument("old", metavar="A", help="The earlier release.")
        diff.add_argument("new", metavar="B", help="The later release.")
        diff.add_argument("--json", action="store_true", help="Print JSON instead of text.")

    def handle(self, *args, **options):
        try:
            getattr(self, f"handle_{options['action']}")(**options)
        except ReleaseError as exc:
            raise CommandError(str(exc)) from None

    def handle_create(self, *, name, notes, dry_run, **options):
        result = create_release(name, notes, dry_run=dry_run)
        if dry_run:
            self.stdout.write(
                f"Would freeze {result.entry_count} published entries as release {name}."
            )
            return
        self.stdout.write(
            f"Created release {result.name}: {result.entry_count} published entries "
            f"in {result.folder}."
        )

    def handle_list(self, **options):
        releases = Release.objects.all()
        if not releases:
            self.stdout.write("No releases yet.")
            return
        for release in releases:
            notes = f"  {release.notes}" if release.notes else ""
            self.stdout.write(
                f"{release.name}\t{release.created:%Y-%m-%d %H:%M}\t"
                f"{release.entry_count} entries{notes}"
            )

    def handle_diff(self, *, old, new, **options):
        diff = diff_releases(get_release(old), get_release(new))
        if options["json"]:
            self.stdout.write(json.dumps(diff.as_dict(), indent=2, ensure_ascii=False))
            return
        for line in diff.lines():
            self.stdout.write(line)
