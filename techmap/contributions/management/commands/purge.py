from django.core.management.base import BaseCommand

from techmap.contributions.privacy import purge_expired


class Command(BaseCommand):
    help = (
        "Delete submitters' hashed addresses older than TECHMAP_ADDRESS_RETENTION_DAYS "
        "and rate-limit counters of finished windows. Run it daily (e.g. from cron)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; change nothing."
        )

    def handle(self, *args, dry_run=False, **options):
        result = purge_expired(dry_run=dry_run)
        verb = "Would blank" if dry_run else "Blanked"
        self.stdout.write(
            f"{verb} {result.addresses_blanked} hashed address(es); "
            f"{'would delete' if dry_run else 'deleted'} "
            f"{result.rate_limit_rows_deleted} rate-limit counter(s)."
        )
