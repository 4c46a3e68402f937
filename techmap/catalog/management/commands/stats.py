import json

from django.core.management.base import BaseCommand

from techmap.catalog.models import Category
from techmap.catalog.stats import compute_stats, stats_sentences


class Command(BaseCommand):
    help = "Print counts of published entries by category and company, as sentences or JSON."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print JSON instead of sentences.")

    def handle(self, *args, json_output=False, **options):
        stats = compute_stats()
        if options["json"]:
            self.stdout.write(json.dumps(stats, indent=2, ensure_ascii=False))
            return
        plurals = dict(Category.objects.exclude(plural="").values_list("slug", "plural"))
        for line in stats_sentences(stats, plurals):
            self.stdout.write(line)
