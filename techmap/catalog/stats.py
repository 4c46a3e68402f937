"""Headline statistics of the published entries, as the report states them."""

from django.db.models import Count, Q

from techmap.catalog.models import Category, Company, Entry


def compute_stats(entries=None) -> dict:
    """Counts of published entries overall, by category and by company.

    ``entries`` is a queryset of published entries (all of them by default); companies and
    countries are counted when they have at least one of those entries.
    """
    entries = Entry.objects.published() if entries is None else entries
    ids = entries.values("pk")
    by_category = (
        Category.objects.annotate(
            n_entries=Count("entries", filter=Q(entries__in=ids), distinct=True),
            n_countries=Count("entries__country", filter=Q(entries__in=ids), distinct=True),
        )
        .filter(n_entries__gt=0)
        .order_by("-n_entries", "name")
    )
    by_company = (
        Company.objects.annotate(
            n_entries=Count("entries", filter=Q(entries__in=ids), distinct=True),
            n_countries=Count("entries__country", filter=Q(entries__in=ids), distinct=True),
        )
        .filter(n_entries__gt=0)
        .order_by("-n_entries", "name")
    )
    return {
        "entries": entries.count(),
        "companies": Company.objects.filter(entries__in=ids).distinct().count(),
        "countries": entries.exclude(country=None).values("country").distinct().count(),
        "by_category": [
            {"slug": c.slug, "name": c.name, "entries": c.n_entries, "countries": c.n_countries}
            for c in by_category
        ],
        "by_company": [
            {"slug": c.slug, "name": c.name, "entries": c.n_entries, "countries": c.n_countries}
            for c in by_company
        ],
    }


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def stats_sentences(stats: dict, plurals: dict[str, str] | None = None) -> list[str]:
    """The statistics as sentences in the style of the report's executive summary."""
    plurals = plurals or {}
    lines = [
        f"{_plural(stats['entries'], 'point', 'points')} of overseas presence for "
        f"{_plural(stats['companies'], 'company', 'companies')} across "
        f"{_plural(stats['countries'], 'country', 'countries')}."
    ]
    for row in stats["by_category"]:
        many = plurals.get(row["slug"]) or row["name"]
        name = row["name"] if row["entries"] == 1 else many
        lines.append(
            f"{row['entries']:,} {name} across {_plural(row['countries'], 'country', 'countries')}."
        )
    for row in stats["by_company"]:
        lines.append(
            f"{row['name']}: {_plural(row['entries'], 'entry', 'entries')} in "
            f"{_plural(row['countries'], 'country', 'countries')}."
        )
    return lines
