"""Faceted counts for the filter panel.

Each facet counts the entries matching every current filter except its own, so a
user who picked one country still sees how many entries the other countries hold.
"""

from dataclasses import replace

from django.db.models import Count, F, Max, Min, Q

from techmap.catalog.memo import memoized
from techmap.catalog.models import Category, Company, Country, Entry, Topic
from techmap.catalog.queries import EntryFilters, filter_entries


def _rows(model, counts: dict, selected, key: str, fields: tuple[str, ...]) -> list[dict]:
    """Rows of model with a count > 0 or currently selected, most entries first."""
    objects = model.objects.filter(Q(pk__in=list(counts)) | Q(**{f"{key}__in": selected}))
    rows = [
        {**{f: getattr(obj, f) for f in fields}, "count": counts.get(obj.pk, 0)}
        for obj in objects
    ]
    rows.sort(key=lambda r: (-r["count"], r["name"].casefold()))
    return rows


def _grouped(queryset, field: str) -> dict:
    """{value of field: number of rows} in one GROUP BY query."""
    rows = queryset.order_by().values(field).annotate(n=Count("pk")).values_list(field, "n")
    return {value: n for value, n in rows if value is not None}


def company_counts(entries) -> dict[int, int]:
    links = Entry.companies.through.objects.filter(entry__in=entries.values("pk"))
    return _grouped(links, "company_id")


def topic_counts(entries) -> dict[int, int]:
    links = Entry.topics.through.objects.filter(entry__in=entries.values("pk"))
    return _grouped(links, "topic_id")


def category_counts(entries) -> dict[int, int]:
    """Entries per category, as primary or secondary (the category filter matches both)."""
    counts = _grouped(entries, "category_id")
    secondary = entries.exclude(secondary_category=None).exclude(secondary_category=F("category"))
    for pk, n in _grouped(secondary, "secondary_category_id").items():
        counts[pk] = counts.get(pk, 0) + n
    return counts


def country_counts(entries) -> dict[int, int]:
    return _grouped(entries, "country_id")


def year_range(entries) -> dict:
    years = entries.aggregate(
        first=Min("year_started"), last_start=Max("year_started"), last_end=Max("year_ended"),
    )
    ends = [y for y in (years["last_start"], years["last_end"]) if y is not None]
    return {"min": years["first"], "max": max(ends) if ends else None}


def facet_counts(filters: EntryFilters) -> dict:
    """compute_facets(filters); those of the whole table are kept until the data change.

    Counting a million entries takes seconds and every first map view asks for the whole
    table's counts, so they are computed once per process and data version (catalog.memo).
    The answer is shared: callers must not change it.
    """
    if filters.is_empty():
        return memoized("facets-unfiltered", lambda: compute_facets(filters))
    return compute_facets(filters)


def compute_facets(filters: EntryFilters) -> dict:
    """Counts per company, category, country and topic, and the year range, for filters."""
    without = {
        "company": filter_entries(replace(filters, companies=())),
        "category": filter_entries(replace(filters, categories=())),
        "country": filter_entries(replace(filters, countries=())),
        "topic": filter_entries(replace(filters, topics=())),
        "years": filter_entries(replace(filters, year_from=None, year_to=None)),
    }
    return {
        "total": filter_entries(filters).count(),
        "company": _rows(
            Company, company_counts(without["company"]),
            filters.companies, "slug", ("slug", "name"),
        ),
        "category": _rows(
            Category, category_counts(without["category"]),
            filters.categories, "slug", ("slug", "name", "color"),
        ),
        "country": _rows(
            Country, country_counts(without["country"]),
            filters.countries, "iso2", ("iso2", "name"),
        ),
        "topic": _rows(
            Topic, topic_counts(without["topic"]),
            filters.topics, "slug", ("slug", "name"),
        ),
        "years": year_range(without["years"]),
    }
