"""Open Graph / Twitter card metadata and the matching card images, as plain functions.

Each public page that can be shared (the map, an entry, a company, a country) gets a
SocialMeta for its <head> and a Card for its image at /cards/.../*.png. Absolute URLs are
built from the request (request.build_absolute_uri checks the host against ALLOWED_HOSTS).
"""

import html
import re
import textwrap
from dataclasses import dataclass

from django.db.models import Count, F, FloatField
from django.db.models.functions import Floor
from django.urls import reverse
from django.utils.html import strip_tags

from techmap.catalog.models import Company, Country, Entry
from techmap.catalog.names import country_name_zh
from techmap.share.cards import Card, Point, clamp_lat
from techmap.web.pages import years_text

SITE_NAME = "techmap"
SITE_TITLE = "Overseas presence of China's tech giants"
SITE_DESCRIPTION = (
    "An open, geolocated database of where China's technology companies operate abroad, "
    "built from ASPI's Mapping China's technology giants (2019), with a source for every entry."
)
DESCRIPTION_CHARS = 200
CELL_DEGREES = 0.5  # about 1.7 card pixels: finer detail would not show
MAX_CARD_POINTS = 3000


@dataclass(frozen=True)
class SocialMeta:
    """What the social_meta.html template writes into <head>."""

    title: str
    description: str
    url: str
    image: str
    image_alt: str
    type: str = "website"
    site_name: str = SITE_NAME


def plain_text(value: str) -> str:
    """Sanitised HTML as one line of plain text (tags dropped, entities decoded)."""
    return re.sub(r"\s+", " ", html.unescape(strip_tags(value or ""))).strip()


def summary(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    """Plain text cut at a word boundary to at most limit characters, with '…' when cut."""
    return textwrap.shorten(plain_text(text), width=limit, placeholder="…")


def plural(n: int, word: str, words: str) -> str:
    return f"{n:,} {word if n == 1 else words}"


def presence_points(entries) -> tuple[Point, ...]:
    """Located entries as card points, grouped into half-degree cells in SQL (any size)."""
    cells = (
        entries.exclude(latitude=None)
        .exclude(longitude=None)
        .order_by()
        .annotate(
            cell_x=Floor(F("longitude") / CELL_DEGREES, output_field=FloatField()),
            cell_y=Floor(F("latitude") / CELL_DEGREES, output_field=FloatField()),
        )
        .values("cell_x", "cell_y", "category__color")
        .annotate(n=Count("pk"))
        .order_by("-n", "cell_y", "cell_x", "category__color")[:MAX_CARD_POINTS]
    )
    return tuple(
        Point(
            lng=(row["cell_x"] + 0.5) * CELL_DEGREES,
            lat=clamp_lat((row["cell_y"] + 0.5) * CELL_DEGREES),
            color=row["category__color"] or "#555555",
        )
        for row in cells
    )


def _line_parts(geometry) -> tuple:
    if not isinstance(geometry, dict):
        return ()
    coordinates = geometry.get("coordinates") or []
    parts = [coordinates] if geometry.get("type") == "LineString" else coordinates
    return tuple(tuple((float(p[0]), float(p[1])) for p in part) for part in parts if part)


# --- Entries --------------------------------------------------------------------------------


def entry_facts(entry: Entry) -> str:
    """Companies · category · place · years, e.g. 'Huawei · 5G · Harare, Zimbabwe · 2019'."""
    place = ", ".join(p for p in (entry.city, entry.country.name if entry.country else "") if p)
    parts = [
        ", ".join(c.name for c in entry.companies.all()),
        entry.category.name,
        place,
        years_text(entry.year_started, entry.year_ended),
    ]
    return " · ".join(p for p in parts if p)


def entry_card(entry: Entry) -> Card:
    point = ()
    if entry.has_point:
        point = (Point(entry.longitude, clamp_lat(entry.latitude), entry.category.color),)
    return Card(
        title=entry.title,
        subtitle=entry_facts(entry),
        points=point,
        lines=_line_parts(entry.line_geometry),
        highlight=entry.country.numeric if entry.country else "",
        focus=True,
    )


def entry_meta(request, entry: Entry) -> SocialMeta:
    place = entry.country.name if entry.country else "no recorded place"
    return SocialMeta(
        title=entry.title,
        description=summary(entry.description) or summary(entry_facts(entry)),
        url=request.build_absolute_uri(entry.get_absolute_url()),
        image=request.build_absolute_uri(reverse("share:card-entry", args=[entry.public_id])),
        image_alt=f"World map marking {place}: {entry.title}",
        type="article",
    )


# --- Companies ------------------------------------------------------------------------------


def company_facts(company: Company) -> tuple[str, tuple[Point, ...]]:
    published = Entry.objects.published().filter(companies=company)
    n_entries = published.count()
    n_countries = published.exclude(country=None).values("country").distinct().count()
    facts = f"{plural(n_entries, 'published entry', 'published entries')} in " + plural(
        n_countries, "country", "countries"
    )
    return facts, presence_points(published)


def company_card(company: Company) -> Card:
    facts, points = company_facts(company)
    return Card(title=company.name, title_zh=company.name_zh, subtitle=facts, points=points)


def company_meta(request, company: Company) -> SocialMeta:
    facts, _ = company_facts(company)
    description = summary(company.profile) or f"{company.name}: {facts}."
    return SocialMeta(
        title=f"{company.name} abroad",
        description=description,
        url=request.build_absolute_uri(company.get_absolute_url()),
        image=request.build_absolute_uri(reverse("share:card-company", args=[company.slug])),
        image_alt=f"World map of {company.name}'s published entries: {facts}",
    )


# --- Countries ------------------------------------------------------------------------------


def country_facts(country: Country) -> str:
    published = Entry.objects.published().filter(country=country)
    companies = list(
        Company.objects.filter(entries__in=published)
        .annotate(n=Count("entries", distinct=True))
        .order_by("-n", "name")
        .values_list("name", flat=True)
        .distinct()
    )
    facts = plural(published.count(), "published entry", "published entries")
    if companies:
        facts += " of " + ", ".join(companies[:4]) + (" and others" if len(companies) > 4 else "")
    return facts


def country_card(country: Country) -> Card:
    return Card(
        title=country.name,
        title_zh=country_name_zh(country.iso2),
        subtitle=country_facts(country),
        points=presence_points(Entry.objects.published().filter(country=country)),
        highlight=country.numeric,
    )


def country_meta(request, country: Country) -> SocialMeta:
    facts = country_facts(country)
    return SocialMeta(
        title=f"Tech companies' presence in {country.name}",
        description=summary(f"{country.name}: {facts}."),
        url=request.build_absolute_uri(country.get_absolute_url()),
        image=request.build_absolute_uri(
            reverse("share:card-country", args=[country.iso2.lower()])
        ),
        image_alt=f"World map with {country.name} highlighted: {facts}",
    )


# --- The map --------------------------------------------------------------------------------


def site_facts() -> str:
    published = Entry.objects.published()
    n_companies = Company.objects.filter(entries__in=published).distinct().count()
    n_countries = published.exclude(country=None).values("country").distinct().count()
    return " · ".join(
        [
            plural(published.count(), "entry", "entries"),
            plural(n_companies, "company", "companies"),
            plural(n_countries, "country", "countries"),
        ]
    )


def site_card() -> Card:
    return Card(
        title=SITE_TITLE,
        subtitle=site_facts(),
        points=presence_points(Entry.objects.published()),
    )


def site_meta(request) -> SocialMeta:
    return SocialMeta(
        title=SITE_TITLE,
        description=SITE_DESCRIPTION,
        url=request.build_absolute_uri("/"),
        image=request.build_absolute_uri(reverse("share:card-site")),
        image_alt=f"World map of every published entry: {site_facts()}",
    )
