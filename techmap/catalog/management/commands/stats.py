import json

from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from techmap.catalog.queries import FilterError, filter_entries, parse_filters
from techmap.catalog.stats import category_plurals, compute_stats, stats_sentences

# --by NAME prints one table: the stats key it reads and the columns it shows.
BREAKDOWNS = {
    "category": ("by_category", ("name", "entries", "countries")),
    "company": ("by_company", ("name", "entries", "countries")),
    "country": ("by_country", ("iso2", "name", "region", "entries", "companies")),
    "region": ("by_region", ("region", "entries", "countries")),
}
# Command-line option -> the query parameter parse_filters() reads (as on /entries/ and the API).
FILTER_OPTIONS = {
    "company": "company", "category": "category", "country": "country", "topic": "topic",
    "year_from": "year_from", "year_to": "year_to", "q": "q",
}


class Command(BaseCommand):
    help = (
        "Print the headline statistics of the published entries (by category, company, "
        "country and region, and the number of data points), as sentences, a table or JSON. "
        "Takes the same filters as the API and the entry list."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print JSON instead of sentences.")
        parser.add_argument(
            "--by", choices=sorted(BREAKDOWNS),
            help="Print one breakdown as a tab-separated table instead of sentences.",
        )
        filters = parser.add_argument_group("filters (repeat an option or use commas for several)")
        filters.add_argument("--company", action="append", metavar="SLUG", help="Company slug.")
        filters.add_argument("--category", action="append", metavar="SLUG",
                             help="Category slug (primary or secondary category).")
        filters.add_argument("--country", action="append", metavar="ISO2",
                             help="ISO 3166-1 alpha-2 country code.")
        filters.add_argument("--topic", action="append", metavar="SLUG", help="Topic slug.")
        filters.add_argument("--year-from", dest="year_from", metavar="YEAR",
                             help="Entries still active in or after this year.")
        filters.add_argument("--year-to", dest="year_to", metavar="YEAR",
                             help="Entries started in or before this year.")
        filters.add_argument("--q", metavar="TEXT",
                             help="Words that must all appear (title, description, ...).")

    def handle(self, *args, **options):
        stats = compute_stats(filter_entries(self.parse_filter_options(options)))
        if options["json"]:
            self.stdout.write(json.dumps(stats, indent=2, ensure_ascii=False))
        elif options["by"]:
            key, columns = BREAKDOWNS[options["by"]]
            self.stdout.write("\t".join(columns))
            for row in stats[key]:
                self.stdout.write("\t".join(str(row[column]) for column in columns))
        else:
            for line in stats_sentences(stats, category_plurals()):
                self.stdout.write(line)

    @staticmethod
    def parse_filter_options(options):
        """The filter options as validated EntryFilters; CommandError names a bad one."""
        params = QueryDict(mutable=True)
        for option, param in FILTER_OPTIONS.items():
            value = options.get(option)
            if value is None:
                continue
            params.setlist(param, value if isinstance(value, list) else [value])
        try:
            return parse_filters(params)
        except FilterError as exc:
            message = str(exc).replace("year_from", "--year-from").replace("year_to", "--year-to")
            raise CommandError(f"Invalid filter: {message}.") from None
