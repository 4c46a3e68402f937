"""Companies, categories, topics and countries with counts of their published entries.

Each carries `name` and `name_zh` (blank when unknown; countries' from pycountry).
"""

from django.db.models import Count, Q

from techmap.catalog.models import Category, Company, Country, Entry, Topic
from techmap.catalog.names import country_name_zh

PUBLISHED = Entry.Status.PUBLISHED


def _published(relation: str) -> Q:
    return Q(**{f"{relation}__status": PUBLISHED})


def _entry_counts(relation: str = "entries") -> dict:
    """Annotations counting published entries (and their countries) through relation."""
    return {
        "n_entries": Count(relation, filter=_published(relation), distinct=True),
        "n_countries": Count(f"{relation}__country", filter=_published(relation), distinct=True),
    }


def company_list() -> list[dict]:
    companies = Company.objects.annotate(**_entry_counts()).order_by("name")
    return [
        {
            "slug": c.slug, "name": c.name, "name_zh": c.name_zh, "url": c.get_absolute_url(),
            "entries": c.n_entries, "countries": c.n_countries,
        }
        for c in companies
    ]


def _breakdown(entries, field: str, keys: tuple[str, ...]) -> list[dict]:
    """Published entries grouped by a related object, most entries first."""
    rows = (
        entries.order_by()
        .values(*(f"{field}__{k}" for k in keys))
        .annotate(n=Count("pk", distinct=True))
        .order_by("-n", f"{field}__name")
    )
    return [
        {**{k: row[f"{field}__{k}"] for k in keys}, "entries": row["n"]}
        for row in rows
        if row[f"{field}__{keys[0]}"] is not None
    ]


def _with_country_names_zh(rows: list[dict]) -> list[dict]:
    return [{**row, "name_zh": country_name_zh(row["iso2"])} for row in rows]


def company_profile(company: Company) -> dict:
    """Every public field of a company, with its published entries by category and country."""
    entries = Entry.objects.published().filter(companies=company)
    party_source = company.party_source
    return {
        "slug": company.slug,
        "name": company.name,
        "name_zh": company.name_zh,
        "url": company.get_absolute_url(),
        "sectors": company.sectors,
        "headquarters": company.headquarters,
        "ownership": company.ownership,
        "profile": company.profile,
        "party_branches": company.party_branches,
        "party_facts": company.party_facts,
        "party_source": party_source.citation() if party_source else None,
        "leadership": company.leadership,
        "website": company.website,
        "entries": entries.count(),
        "countries": entries.exclude(country=None).values("country").distinct().count(),
        "by_category": _breakdown(entries, "category", ("slug", "name", "name_zh")),
        "by_country": _with_country_names_zh(_breakdown(entries, "country", ("iso2", "name"))),
    }


def category_list() -> list[dict]:
    # Counted by primary category, as in `techmap stats`.
    categories = Category.objects.annotate(**_entry_counts())
    return [
        {
            "slug": c.slug, "name": c.name, "name_zh": c.name_zh, "plural": c.plural,
            "plural_zh": c.plural_zh, "color": c.color,
            "description": c.description, "entries": c.n_entries,
        }
        for c in categories
    ]


def topic_list() -> list[dict]:
    topics = Topic.objects.annotate(**_entry_counts())
    return [
        {"slug": t.slug, "name": t.name, "name_zh": t.name_zh, "entries": t.n_entries}
        for t in topics
    ]


def _country_fields(country: Country) -> dict:
    return {
        "iso2": country.iso2, "iso3": country.iso3, "name": country.name,
        "name_zh": country_name_zh(country.iso2),
        "region": country.region, "subregion": country.subregion,
    }


def country_list(*, with_entries: bool = False) -> list[dict]:
    countries = Country.objects.annotate(
        n_entries=Count("entries", filter=_published("entries"), distinct=True)
    )
    if with_entries:
        countries = countries.filter(n_entries__gt=0)
    return [{**_country_fields(c), "entries": c.n_entries} for c in countries]


def country_profile(country: Country) -> dict:
    entries = Entry.objects.published().filter(country=country)
    return {
        **_country_fields(country),
        "capital": country.capital,
        "url": country.get_absolute_url(),
        "entries": entries.count(),
        "by_company": _breakdown(entries, "companies", ("slug", "name", "name_zh")),
        "by_category": _breakdown(entries, "category", ("slug", "name", "name_zh")),
    }
