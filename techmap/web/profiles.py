"""Plain functions that build the company and country pages."""

from itertools import groupby

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from techmap.catalog import names
from techmap.catalog.models import Company, Country, Entry
from techmap.web.pages import list_entries

PUBLISHED = Q(entries__status=Entry.Status.PUBLISHED)


def count_by(entries: QuerySet, slug_field: str, name_field: str) -> list[dict]:
    """Published entries counted by a related field, largest first: [{slug, name, entries}]."""
    rows = (
        entries.exclude(**{f"{slug_field}__isnull": True})
        .values(slug_field, name_field)
        .annotate(n=Count("pk", distinct=True))
        .order_by("-n", name_field)
    )
    return [{"slug": r[slug_field], "name": r[name_field], "entries": r["n"]} for r in rows]


def localize_countries(rows: list[dict]) -> list[dict]:
    """count_by() rows of countries (slug = ISO2) with their names in the active language."""
    return [{**row, "name": names.country_name(row["slug"], row["name"])} for row in rows]


def localize_companies(rows: list[dict]) -> list[dict]:
    """count_by() rows of companies with their names in the active language."""
    if not names.is_chinese():
        return rows
    chinese = dict(Company.objects.values_list("slug", "name_zh"))
    return [
        {**row, "name": names.company_name(row["name"], chinese.get(row["slug"], ""))}
        for row in rows
    ]


def category_counts(entries: QuerySet) -> list[dict]:
    """count_by() rows of the entries' categories, named in the active language."""
    rows = (
        entries.exclude(category__isnull=True)
        .values("category__slug", "category__name", "category__name_zh")
        .annotate(n=Count("pk", distinct=True))
        .order_by("-n", "category__name")
    )
    return [
        {
            "slug": r["category__slug"],
            "name": names.label(r["category__name"], r["category__name_zh"]),
            "entries": r["n"],
        }
        for r in rows
    ]


def map_points(entries) -> list[dict]:
    """The located entries as small dicts for the minimap's JSON data block."""
    return [
        {"lat": e.latitude, "lng": e.longitude, "title": e.title, "url": e.get_absolute_url()}
        for e in entries
        if e.has_point
    ]


# --- Companies ------------------------------------------------------------------------------


def companies_with_counts() -> QuerySet:
    """Every company with its numbers of published entries and of countries."""
    return Company.objects.annotate(
        n_entries=Count("entries", filter=PUBLISHED, distinct=True),
        n_countries=Count("entries__country", filter=PUBLISHED, distinct=True),
    ).order_by("name")


def company_context(slug: str) -> dict:
    """The template context of a company profile; Http404 for an unknown slug."""
    company = Company.objects.select_related("party_source").filter(slug=slug).first()
    if company is None:
        raise Http404("No company has this slug.")
    published = Entry.objects.published().filter(companies=company)
    entries = list(list_entries(published))
    return {
        "company": company,
        "entries": entries,
        "by_category": category_counts(published),
        "by_country": localize_countries(count_by(published, "country__iso2", "country__name")),
        "points": map_points(entries),
        "n_countries": len({e.country_id for e in entries if e.country_id}),
    }


# --- Countries ------------------------------------------------------------------------------


def countries_by_region() -> list[dict]:
    """Countries with at least one published entry, grouped by UN region: [{region, countries}]."""
    countries = (
        Country.objects.annotate(n_entries=Count("entries", filter=PUBLISHED, distinct=True))
        .filter(n_entries__gt=0)
        .order_by("region", "name")
    )
    groups = groupby(countries, key=lambda c: c.region or "Other")
    return [{"region": region, "countries": list(members)} for region, members in groups]


def find_country(code: str) -> Country:
    """The country with this ISO 3166-1 alpha-2 code (any case); Http404 otherwise."""
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise Http404("A country code has two letters.")
    country = Country.objects.filter(iso2=code.upper()).first()
    if country is None:
        raise Http404("No country has this code.")
    return country


def country_context(country: Country) -> dict:
    """The template context of a country page."""
    published = Entry.objects.published().filter(country=country)
    entries = list(list_entries(published))
    chinese = names.country_name_zh(country.iso2)
    if names.is_chinese():  # the English name beside the Chinese one, and the reverse
        name_alt = {"text": country.name, "lang": "en"} if chinese else None
    else:
        name_alt = {"text": chinese, "lang": "zh-Hans"} if chinese else None
    return {
        "country": country,
        "name_alt": name_alt,
        "entries": entries,
        "by_company": localize_companies(count_by(published, "companies__slug", "companies__name")),
        "by_category": category_counts(published),
        "points": map_points(entries),
    }
