"""Faceted counts for the filter panel.

Each facet counts the entries matching every current filter except its own, so a
user who picked one country still sees how many entries the other countries hold.

Facets whose "every filter but my own" is the same set of filters share their queries:
one GROUP BY over the entries' own columns gives the total and the category, country and
year facets at once, and one join per link table gives the company and topic facets.
Filter values are looked up as ids first, so the database plans with its statistics for
those ids (a join to the company table hid that half the entries are Huawei's).
"""

from django.db.models import Count, Max, Min, Q

from techmap.catalog.memo import memoized
from techmap.catalog.models import Category, Company, Country, Entry, Topic
from techmap.catalog.queries import EntryFilters, filter_entries, years_q

FACETS = ("company", "category", "country", "topic", "years")
ENTRY_FACETS = ("category", "country", "years")  # counted from the entry table itself
CompanyLink = Entry.companies.through
TopicLink = Entry.topics.through


def _rows(model, counts: dict, selected, key: str, fields: tuple[str, ...]) -> list[dict]:
    """Rows of model with a count > 0 or currently selected, most entries first."""
    objects = model.objects.filter(Q(pk__in=list(counts)) | Q(**{f"{key}__in": selected}))
    rows = [
        {**{f: getattr(obj, f) for f in fields}, "count": counts.get(obj.pk, 0)} for obj in objects
    ]
    rows.sort(key=lambda r: (-r["count"], r["name"].casefold()))
    return rows


def _ids(model, key: str, values) -> list[int]:
    return list(model.objects.filter(**{f"{key}__in": values}).values_list("pk", flat=True))


def _selection(filters: EntryFilters) -> dict:
    """{facet: what its filter selects} for the facets filtered: ids, or the year bounds."""
    chosen = {}
    if filters.companies:
        chosen["company"] = _ids(Company, "slug", filters.companies)
    if filters.categories:
        chosen["category"] = _ids(Category, "slug", filters.categories)
    if filters.countries:
        chosen["country"] = _ids(Country, "iso2", filters.countries)
    if filters.topics:
        chosen["topic"] = _ids(Topic, "slug", filters.topics)
    if filters.year_from is not None or filters.year_to is not None:
        chosen["years"] = (filters.year_from, filters.year_to)
    return chosen


def _conditions(filters: EntryFilters, chosen: dict, prefix: str = "") -> Q:
    """Published entries matching chosen, and filters' q and bbox; with prefix "entry__",
    the rows of a link table whose entry matches."""
    entry = f"{prefix}pk"
    where = Q(**{f"{prefix}status": Entry.Status.PUBLISHED})
    for facet, link in (("company", CompanyLink), ("topic", TopicLink)):
        if facet in chosen:  # IN, not a join: an entry with two chosen companies counts once
            linked = link.objects.filter(**{f"{facet}_id__in": chosen[facet]})
            where &= Q(**{f"{entry}__in": linked.values("entry_id")})
    if "category" in chosen:
        where &= Q(**{f"{prefix}category_id__in": chosen["category"]}) | Q(
            **{f"{prefix}secondary_category_id__in": chosen["category"]}
        )
    if "country" in chosen:
        where &= Q(**{f"{prefix}country_id__in": chosen["country"]})
    if "years" in chosen:
        where &= years_q(*chosen["years"], prefix=prefix)
    if filters.q or filters.bbox:
        rest = filter_entries(EntryFilters(q=filters.q, bbox=filters.bbox))
        where &= Q(**{f"{entry}__in": rest.values("pk")})
    return where


def _entry_groups(where: Q) -> dict:
    """Total, category, country and year facets of the entries matching, in one query."""
    groups = (
        Entry.objects.filter(where)
        .order_by()
        .values_list("category_id", "secondary_category_id", "country_id")
        .annotate(
            n=Count("*"),
            first=Min("year_started"),
            last_start=Max("year_started"),
            last_end=Max("year_ended"),
        )
    )
    total, categories, countries, starts, ends = 0, {}, {}, [], []
    for category, secondary, country, n, first, last_start, last_end in groups:
        total += n
        # The category filter matches primary or secondary: count both, the same one once.
        categories[category] = categories.get(category, 0) + n
        if secondary is not None and secondary != category:
            categories[secondary] = categories.get(secondary, 0) + n
        if country is not None:
            countries[country] = countries.get(country, 0) + n
        starts += [first] if first is not None else []
        ends += [y for y in (last_start, last_end) if y is not None]
    years = {"min": min(starts) if starts else None, "max": max(ends) if ends else None}
    return {"total": total, "category": categories, "country": countries, "years": years}


def _link_counts(link, column: str, filters: EntryFilters, chosen: dict) -> dict[int, int]:
    """{company or topic id: entries linked} for the entries matching, in one join."""
    rows = link.objects.filter(_conditions(filters, chosen, prefix="entry__"))
    return dict(rows.order_by().values_list(column).annotate(n=Count("*")))


def _counts(filters: EntryFilters, whole_table=None) -> dict:
    """{"total": n, facet: counts} for filters; whole_table() gives the unfiltered counts for
    facets whose only filter is their own (their answer is the whole table's)."""
    chosen = _selection(filters)
    wanted: dict[frozenset, set] = {frozenset(chosen): {"total"}}
    for facet in FACETS:
        wanted.setdefault(frozenset(chosen.keys() - {facet}), set()).add(facet)
    result = {}
    for kept, facets in wanted.items():
        if not kept and whole_table is not None and not (filters.q or filters.bbox):
            result.update({f: whole_table()[f] for f in facets})
            continue
        subset = {facet: chosen[facet] for facet in kept}
        if facets & {"total", *ENTRY_FACETS}:
            groups = _entry_groups(_conditions(filters, subset))
            result.update({f: groups[f] for f in facets if f in groups})
        if "company" in facets:
            result["company"] = _link_counts(CompanyLink, "company_id", filters, subset)
        if "topic" in facets:
            result["topic"] = _link_counts(TopicLink, "topic_id", filters, subset)
    return result


def _answer(filters: EntryFilters, counts: dict) -> dict:
    return {
        "total": counts["total"],
        "company": _rows(
            Company,
            counts["company"],
            filters.companies,
            "slug",
            ("slug", "name"),
        ),
        "category": _rows(
            Category,
            counts["category"],
            filters.categories,
            "slug",
            ("slug", "name", "color"),
        ),
        "country": _rows(
            Country,
            counts["country"],
            filters.countries,
            "iso2",
            ("iso2", "name"),
        ),
        "topic": _rows(Topic, counts["topic"], filters.topics, "slug", ("slug", "name")),
        "years": counts["years"],
    }


def _whole_table_counts() -> dict:
    return memoized("facet-counts-unfiltered", lambda: _counts(EntryFilters()))


def facet_counts(filters: EntryFilters) -> dict:
    """compute_facets(filters), with the whole table's counts kept until the data change.

    Counting a million entries takes seconds and every first map view asks for the whole
    table's counts, so they are computed once per process and data version (catalog.memo).
    A facet whose only filter is its own (the companies when one company is picked) shows
    those same whole-table counts; everything else is counted afresh on every request.
    The answer is shared: callers must not change it.
    """
    if filters.is_empty():
        return memoized("facets-unfiltered", lambda: _answer(filters, _whole_table_counts()))
    return compute_facets(filters, whole_table=_whole_table_counts)


def compute_facets(filters: EntryFilters, *, whole_table=None) -> dict:
    """Counts per company, category, country and topic, and the year range, for filters.

    whole_table, if given, returns the unfiltered counts (see facet_counts).
    """
    return _answer(filters, _counts(filters, whole_table))
