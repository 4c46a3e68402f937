"""/stats/: the headline statistics in words and as bar charts, for any filter of /entries/.

stats_page() builds everything the page shows from the query parameters and can be
tested without HTTP; the view only renders it.
"""

from dataclasses import dataclass, field

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from techmap.catalog import names
from techmap.catalog.models import Category
from techmap.catalog.queries import EntryFilters, FilterError, filter_entries, parse_filters
from techmap.catalog.stats import (
    category_plurals,
    category_sentence,
    compute_stats,
    headline_sentences,
)
from techmap.web.charts import BarChart, bar_chart
from techmap.web.pages import FilterField, filter_form_fields, query_string

TOP_COUNTRIES = 25


def _in_countries(row: dict) -> str:
    return ngettext(
        "%(entries)s in %(n)s country", "%(entries)s in %(n)s countries", row["countries"]
    ) % {"entries": f"{row['entries']:,}", "n": f"{row['countries']:,}"}


def _from_companies(row: dict) -> str:
    return ngettext(
        "%(entries)s from %(n)s company", "%(entries)s from %(n)s companies", row["companies"]
    ) % {"entries": f"{row['entries']:,}", "n": f"{row['companies']:,}"}


@dataclass
class StatsPage:
    """Everything /stats/ shows, for one set of query parameters."""

    filters: EntryFilters | None
    error: str = ""
    stats: dict = field(default_factory=dict)
    sentences: list[str] = field(default_factory=list)
    category_sentences: list[str] = field(default_factory=list)
    charts: dict[str, BarChart] = field(default_factory=dict)
    form_fields: list[FilterField] = field(default_factory=list)
    active_filters: list[tuple[str, str]] = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    @property
    def status(self) -> int:
        return 400 if self.error else 200

    @property
    def query(self) -> str:
        return query_string(self.filters) if self.filters else ""

    def _with_query(self, path: str) -> str:
        return f"{path}?{self.query}" if self.query else path

    @property
    def entries_url(self) -> str:
        return self._with_query("/entries/")

    @property
    def map_url(self) -> str:
        return self._with_query("/")

    @property
    def json_url(self) -> str:
        return self._with_query("/api/stats")


def active_filters(filters: EntryFilters, form_fields: list[FilterField]) -> list[tuple[str, str]]:
    """The filters in force as (label, value) pairs in words, e.g. ('Country', 'Zimbabwe')."""
    pairs = []
    for form_field in form_fields:
        names = dict(form_field.options)
        pairs += [(form_field.label, names.get(value, value)) for value in form_field.selected]
    if filters.year_from is not None:
        pairs.append((_("From year"), str(filters.year_from)))
    if filters.year_to is not None:
        pairs.append((_("To year"), str(filters.year_to)))
    if filters.q:
        pairs.append((_("Search"), filters.q))
    return pairs


def stats_charts(stats: dict) -> dict[str, BarChart]:
    """The page's four bar charts: per category, company, country (top 25) and UN region."""
    colors = dict(Category.objects.values_list("slug", "color"))
    return {
        "category": bar_chart(
            "category",
            _("Entries per category"),
            stats["by_category"],
            label=names.label_of,
            value_text=_in_countries,
            color=lambda row: colors.get(row["slug"]),
        ),
        "company": bar_chart(
            "company",
            _("Entries per company"),
            stats["by_company"],
            label=names.label_of,
            value_text=_in_countries,
        ),
        "country": bar_chart(
            "country",
            _("Entries per country (top %(n)s)") % {"n": TOP_COUNTRIES},
            stats["by_country"][:TOP_COUNTRIES],
            label=lambda row: names.country_name(row["iso2"], row["name"]),
            value_text=_from_companies,
        ),
        "region": bar_chart(
            "region",
            _("Entries per UN region"),
            stats["by_region"],
            label=lambda row: _(row["region"]) if row["region"] else _("No UN region"),
            value_text=_in_countries,
        ),
    }


def stats_page(params) -> StatsPage:
    """Validate the filters in params and compute the statistics of the matching entries."""
    raw = {name: params.get(name, "") for name in ("year_from", "year_to", "q")}
    try:
        filters = parse_filters(params)
    except FilterError as exc:
        return StatsPage(
            filters=None, error=str(exc), form_fields=filter_form_fields(None), raw=raw
        )
    stats = compute_stats(filter_entries(filters))
    plurals = category_plurals()
    form_fields = filter_form_fields(filters)
    return StatsPage(
        filters=filters,
        stats=stats,
        sentences=headline_sentences(stats),
        category_sentences=[category_sentence(row, plurals) for row in stats["by_category"]],
        charts=stats_charts(stats),
        form_fields=form_fields,
        active_filters=active_filters(filters, form_fields),
        raw=raw,
    )


def statistics(request):
    """/stats/: headline figures and bar charts of the published entries, with the filters."""
    page = stats_page(request.GET)
    return render(request, "web/stats.html", {"page": page}, status=page.status)
