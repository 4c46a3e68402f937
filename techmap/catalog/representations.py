"""Entries as plain JSON-ready dicts, shared by the JSON API and the GeoJSON builder.

Names are language-neutral: each company, category, topic and country carries `name` and
`name_zh` (blank when unknown), and clients pick one, so responses need not vary by language.

Callers pass entries loaded with summary_relations() (and detail_relations() for
entry_detail) so that building many summaries costs a fixed number of queries.
"""

from django.db.models import Prefetch, QuerySet

from techmap.catalog.models import Category, Entry, EntrySource
from techmap.catalog.names import country_name_zh

COORDINATE_DECIMALS = 6  # about 0.1 m: more digits only add bytes


def summary_relations(queryset: QuerySet) -> QuerySet:
    """queryset with the relations entry_summary() reads, fetched in bulk."""
    return queryset.select_related("category", "secondary_category", "country").prefetch_related(
        "companies"
    )


def detail_relations(queryset: QuerySet) -> QuerySet:
    """queryset with the relations entry_detail() reads, fetched in bulk."""
    return summary_relations(queryset).prefetch_related(
        "topics",
        Prefetch("entry_sources", queryset=EntrySource.objects.select_related("source")),
    )


def round_coordinate(value: float | None) -> float | None:
    return None if value is None else round(value, COORDINATE_DECIMALS)


def category_ref(category: Category | None) -> dict | None:
    if category is None:
        return None
    return {
        "slug": category.slug, "name": category.name, "name_zh": category.name_zh,
        "color": category.color,
    }


def entry_summary(entry: Entry) -> dict:
    """The fields a list, a map popup or a table row needs."""
    country = entry.country
    return {
        "id": entry.public_id,
        "title": entry.title,
        "url": entry.get_absolute_url(),
        "companies": [
            {"slug": c.slug, "name": c.name, "name_zh": c.name_zh} for c in entry.companies.all()
        ],
        "category": category_ref(entry.category),
        "secondary_category": category_ref(entry.secondary_category),
        "country": {
            "iso2": country.iso2, "name": country.name, "name_zh": country_name_zh(country.iso2),
        } if country else None,
        "city": entry.city,
        "precision": entry.precision,
        "latitude": round_coordinate(entry.latitude),
        "longitude": round_coordinate(entry.longitude),
        "year_started": entry.year_started,
        "year_ended": entry.year_ended,
        "highlight": entry.highlight,
    }


def entry_citation(entry: Entry) -> str:
    """The 'cite this entry' text: title, techmap entry id and the entry's URL path."""
    return f"{entry.title}. techmap entry {entry.public_id}, {entry.get_absolute_url()}."


def source_detail(position: int, source) -> dict:
    return {
        "n": position,
        "title": source.title,
        "author": source.author,
        "publisher": source.publisher,
        "publication_date": source.publication_date,
        "url": source.url,
        "archived_url": source.archived_url,
        "language": source.language,
        "note": source.note,
        "citation": source.citation(),
    }


def entry_detail(entry: Entry) -> dict:
    """Every public field of an entry, with numbered sources and a citation."""
    amount = entry.financing_amount
    return {
        **entry_summary(entry),
        "topics": [
            {"slug": t.slug, "name": t.name, "name_zh": t.name_zh} for t in entry.topics.all()
        ],
        "address": entry.address,
        "partners": entry.partners,
        "financing": {
            "lender": entry.financing_lender,
            # JSON has no decimal type; amounts are whole currency units in practice.
            "amount": float(amount) if amount is not None else None,
            "currency": entry.financing_currency,
        },
        "description": entry.description,
        "line_geometry": entry.line_geometry,
        "external_refs": entry.external_refs,
        "sources": [
            source_detail(n, link.source) for n, link in enumerate(entry.entry_sources.all(), 1)
        ],
        "citation": entry_citation(entry),
        "created": entry.created.isoformat(),
        "updated": entry.updated.isoformat(),
    }
