"""Headline statistics of the published entries, as the report states them.

Every figure is counted by the database (grouped or conditional aggregates), so the cost
stays a handful of queries however many entries there are.
"""

from django.db.models import Count, Func, IntegerField, Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from techmap.catalog import names
from techmap.catalog.models import Category, Company, Country, Entry, EntrySource
from techmap.catalog.names import country_name_zh


class JSONItemCount(Func):
    """The number of items of a JSON array or keys of a JSON object (0 for NULL or scalars)."""

    output_field = IntegerField()
    arity = 1

    def as_sqlite(self, compiler, connection, **extra_context):
        # json_each walks the items of an array or the members of an object alike.
        return self.as_sql(
            compiler, connection,
            template="(SELECT COUNT(*) FROM json_each(%(expressions)s))", **extra_context,
        )

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection,
            template=(
                "CASE jsonb_typeof(%(expressions)s) "
                "WHEN 'array' THEN jsonb_array_length(%(expressions)s) "
                "WHEN 'object' THEN (SELECT COUNT(*) FROM jsonb_object_keys(%(expressions)s)) "
                "ELSE 0 END"
            ),
            **extra_context,
        )

    def as_mysql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="COALESCE(JSON_LENGTH(%(expressions)s), 0)",
            **extra_context,
        )


def _non_blank(field: str) -> Q:
    return ~Q(**{field: ""})


def _non_null(field: str) -> Q:
    return Q(**{f"{field}__isnull": False})


# The scalar fields counted as data points, each with the condition that makes it non-empty.
# The point (latitude and longitude) is one data point; so is a line geometry.
SCALAR_DATA_POINTS = {
    "title": _non_blank("title"),
    "category": _non_null("category"),
    "secondary_category": _non_null("secondary_category"),
    "country": _non_null("country"),
    "city": _non_blank("city"),
    "address": _non_blank("address"),
    "point": _non_null("latitude") & _non_null("longitude"),
    "line_geometry": _non_null("line_geometry"),
    "financing_lender": _non_blank("financing_lender"),
    "financing_amount": _non_null("financing_amount"),
    "financing_currency": _non_blank("financing_currency"),
    "year_started": _non_null("year_started"),
    "year_ended": _non_null("year_ended"),
    "description": _non_blank("description"),
}


def count_data_points(entries) -> int:
    """The number of non-empty fields of the entries, as defined in compute_stats()."""
    ids = entries.values("pk")
    scalars = entries.order_by().aggregate(
        **{f"dp_{name}": Count("pk", filter=condition)
           for name, condition in SCALAR_DATA_POINTS.items()},
        dp_partners=Coalesce(Sum(JSONItemCount("partners")), 0),
        dp_external_refs=Coalesce(Sum(JSONItemCount("external_refs")), 0),
    )
    links = (
        Entry.companies.through.objects.filter(entry__in=ids).count()
        + Entry.topics.through.objects.filter(entry__in=ids).count()
        + EntrySource.objects.filter(entry__in=ids).count()
    )
    return sum(int(value or 0) for value in scalars.values()) + links


def _by_country(entries) -> list[dict]:
    rows = (
        entries.exclude(country=None)
        .order_by()
        .values("country")
        .annotate(n_entries=Count("pk", distinct=True),
                  n_companies=Count("companies", distinct=True))
    )
    counts = {row["country"]: row for row in rows}
    countries = Country.objects.filter(pk__in=counts).only("iso2", "name", "region")
    result = [
        {
            "iso2": c.iso2,
            "name": c.name,
            "name_zh": country_name_zh(c.iso2),
            "region": c.region,
            "entries": counts[c.pk]["n_entries"],
            "companies": counts[c.pk]["n_companies"],
        }
        for c in countries
    ]
    return sorted(result, key=lambda row: (-row["entries"], row["name"]))


def _by_region(entries) -> list[dict]:
    located = entries.exclude(country=None).order_by()
    regions = located.values("country__region").annotate(
        n_entries=Count("pk", distinct=True), n_countries=Count("country", distinct=True),
    )
    subregions = located.values("country__region", "country__subregion").annotate(
        n_entries=Count("pk", distinct=True), n_countries=Count("country", distinct=True),
    )
    nested: dict[str, list[dict]] = {}
    for row in subregions:
        nested.setdefault(row["country__region"], []).append({
            "subregion": row["country__subregion"],
            "entries": row["n_entries"],
            "countries": row["n_countries"],
        })
    result = [
        {
            "region": row["country__region"],
            "entries": row["n_entries"],
            "countries": row["n_countries"],
            "subregions": sorted(
                nested.get(row["country__region"], []),
                key=lambda sub: (-sub["entries"], sub["subregion"]),
            ),
        }
        for row in regions
    ]
    return sorted(result, key=lambda row: (-row["entries"], row["region"]))


def compute_stats(entries=None) -> dict:
    """Counts of published entries overall and by category, company, country and region.

    ``entries`` is a queryset of distinct published entries (all of them by default);
    companies and countries are counted when they have at least one of those entries.

    Keys, in this order: ``entries``, ``companies``, ``countries``, ``by_category`` and
    ``by_company`` (each row: slug, name, name_zh, entries, countries), ``by_country``
    (iso2, name, name_zh, UN region, entries, companies; most entries first), ``by_region``
    (UN region, entries, countries, and ``subregions`` the same per UN subregion; entries
    without a country are left out) and ``data_points``.

    ``data_points`` is the number of non-empty fields of the entries, the sense of the
    report's "17,000+ data points": for each entry, one for each of title, category,
    secondary category, country, city, street address, point (latitude and longitude
    together count once), line geometry, financing lender, financing amount, financing
    currency, year commenced, year ended and description that is not blank or null; plus
    one per partner, per linked company, per topic, per source and per external reference.
    Status, precision, highlight, public id and timestamps are bookkeeping, not data.
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
        "by_category": [_count_row(c) for c in by_category],
        "by_company": [_count_row(c) for c in by_company],
        "by_country": _by_country(entries),
        "by_region": _by_region(entries),
        "data_points": count_data_points(entries),
    }


def _count_row(obj) -> dict:
    return {
        "slug": obj.slug, "name": obj.name, "name_zh": obj.name_zh,
        "entries": obj.n_entries, "countries": obj.n_countries,
    }


def category_plurals() -> dict[str, str]:
    """Each category's plural by slug in the active language ('5G initiatives', '5G 项目')."""
    if names.is_chinese():
        rows = Category.objects.values_list("slug", "plural_zh", "name_zh")
        return {slug: plural or name for slug, plural, name in rows if plural or name}
    return dict(Category.objects.exclude(plural="").values_list("slug", "plural"))


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _countries(n: int) -> str:
    return ngettext("%(n)s country", "%(n)s countries", n) % {"n": f"{n:,}"}


def category_sentence(row: dict, plurals: dict[str, str] | None = None) -> str:
    """One category's count in the report's words, e.g. '52 5G initiatives across 34 countries.'

    In the active language (the CLI's is English); the category's name is data.
    """
    one = names.label_of(row)
    many = (plurals or {}).get(row["slug"]) or one
    name = one if row["entries"] == 1 else many
    return _("%(entries)s %(name)s across %(countries)s.") % {
        "entries": f"{row['entries']:,}", "name": name, "countries": _countries(row["countries"]),
    }


def headline_sentences(stats: dict) -> list[str]:
    """The overall count and the number of data points, in the active language."""
    n = stats["entries"]
    lines = [
        _("%(points)s for %(companies)s across %(countries)s.") % {
            "points": ngettext("%(n)s point of overseas presence",
                               "%(n)s points of overseas presence", n) % {"n": f"{n:,}"},
            "companies": ngettext("%(n)s company", "%(n)s companies", stats["companies"])
            % {"n": f"{stats['companies']:,}"},
            "countries": _countries(stats["countries"]),
        }
    ]
    if "data_points" in stats:
        n = stats["data_points"]
        lines.append(ngettext("%(n)s data point.", "%(n)s data points.", n) % {"n": f"{n:,}"})
    return lines


def stats_sentences(stats: dict, plurals: dict[str, str] | None = None, *,
                    top_countries: int = 5) -> list[str]:
    """The statistics as sentences in the style of the report's executive summary."""
    lines = headline_sentences(stats)
    lines += [category_sentence(row, plurals) for row in stats["by_category"]]
    for row in stats["by_company"]:
        lines.append(
            f"{row['name']}: {_plural(row['entries'], 'entry', 'entries')} in "
            f"{_plural(row['countries'], 'country', 'countries')}."
        )
    top = stats.get("by_country", [])[:top_countries]
    if top:
        lines.append(
            "Countries with the most entries: "
            + ", ".join(f"{row['name']} ({row['entries']:,})" for row in top)
            + "."
        )
    for row in stats.get("by_region", []):
        lines.append(
            f"{_plural(row['entries'], 'entry', 'entries')} across "
            f"{_plural(row['countries'], 'country', 'countries')} in "
            f"{row['region'] or 'no UN region'}."
        )
    return lines
