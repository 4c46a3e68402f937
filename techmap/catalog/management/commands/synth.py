import secrets
import time

from django.core.management.base import BaseCommand, CommandError

from techmap.catalog.synth import SynthError, add_synthetic_entries, delete_synthetic_entries


class Command(BaseCommand):
    help = (
        "Fill the database with realistic SYNTHETIC published entries for benchmarks: "
        "companies, categories, countries and years drawn like the real published entries, "
        "points clustered around GeoNames cities, some undersea cables. Every one is marked "
        '(public id synthetic-<n>, external_refs {"synthetic": true}) and left out of '
        "releases. --delete removes them all again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--entries", type=int, metavar="N", help="How many entries to add.")
        parser.add_argument(
            "--seed",
            type=int,
            metavar="S",
            help="Random seed; the same seed and data give the same entries (default: random, "
            "printed).",
        )
        parser.add_argument(
            "--delete",
            action="store_true",
            help="Remove every synthetic entry instead of adding any.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Say what would be added or removed; write nothing.",
        )

    def handle(self, *args, entries=None, seed=None, delete=False, dry_run=False, **options):
        if delete == (entries is not None):
            raise CommandError("give either --entries N or --delete")
        started = time.perf_counter()
        try:
            if delete:
                count = delete_synthetic_entries(dry_run=dry_run)
                verb = "Would remove" if dry_run else "Removed"
                self.stdout.write(
                    f"{verb} {count:,} synthetic entries in {time.perf_counter() - started:.1f} s."
                )
                return
            seed = secrets.randbelow(2**31) if seed is None else seed
            result = add_synthetic_entries(entries, seed, dry_run=dry_run)
        except SynthError as exc:
            raise CommandError(str(exc)) from None
        verb = "Would add" if dry_run else "Added"
        self.stdout.write(
            f"{verb} {result.entries:,} synthetic entries ({result.cables:,} cables) with seed "
            f"{result.seed} in {time.perf_counter() - started:.1f} s."
        )
        if options["verbosity"] > 1:
            for name, n in sorted(result.by_category.items(), key=lambda kv: -kv[1]):
                self.stdout.write(f"  {n:>9,}  {name}")
