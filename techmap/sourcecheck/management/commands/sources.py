"""`techmap sources check`: fetch source URLs and record whether each link still works."""

import argparse

from django.core.management.base import BaseCommand, CommandError

from techmap.sourcecheck.checks import check_sources, sources_to_check


class Command(BaseCommand):
    help = (
        "Check source links: `techmap sources check [--limit N] [--url-prefix P] [--dry-run]` "
        "fetches each http(s) source URL (never-checked and least recently checked first) "
        "with short timeouts and a body cap, refusing non-public addresses, records the "
        "result, and lists dead links."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", metavar="ACTION")
        check = sub.add_parser(
            "check",
            help="Fetch source URLs and record a check for each.",
            description="Fetch source URLs and record a check for each.",
        )
        check.add_argument(
            "--limit", type=int, default=None, metavar="N", help="Check at most N sources."
        )
        check.add_argument(
            "--url-prefix",
            default="",
            metavar="PREFIX",
            help="Only sources whose URL starts with PREFIX (e.g. https://example.org/).",
        )
        check.add_argument(
            "-v",
            "--verbosity",
            type=int,
            choices=[0, 1, 2, 3],
            default=argparse.SUPPRESS,  # keeps `techmap sources -v 2 check` working too
            help="2 or more prints each check as it is made.",
        )
        check.add_argument(
            "--dry-run",
            action="store_true",
            help="List the URLs that would be checked; contact nothing and write nothing.",
        )

    def handle(self, *args, action=None, limit=None, url_prefix="", dry_run=False, **options):
        if action != "check":
            raise CommandError("Give an action: `techmap sources check [--limit N]`.")
        if limit is not None and limit < 0:
            raise CommandError("--limit must be 0 or more.")
        if dry_run:
            sources = list(sources_to_check(limit=limit, url_prefix=url_prefix))
            for source in sources:
                self.stdout.write(f"would check {source.url}")
            self.stdout.write(f"Dry run: {len(sources)} sources would be checked.")
            return

        verbose = options.get("verbosity", 1) >= 2

        def report(check):
            if verbose:
                self.stdout.write(f"{check.outcome:8} {check.status_code or '-':>3} {check.url}")

        summary = check_sources(limit=limit, url_prefix=url_prefix, on_check=report)
        counts = summary.counts
        self.stdout.write(
            f"Checked {counts['checked']}: {counts['ok']} ok, {counts['dead']} dead, "
            f"{counts['refused']} refused."
        )
        if summary.failed:
            self.stdout.write("Dead links:")
            for check in summary.failed:
                detail = str(check.status_code) if check.status_code else check.error
                if check.status_code and check.error:
                    detail += f" {check.error}"
                self.stdout.write(f"  {check.url}  [{check.outcome}: {detail}]")
