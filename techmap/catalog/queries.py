"""The public entry filters, shared by the map, list pages, API and exports.

Filters arrive as query-string values; parse_filters() validates them into an
EntryFilters and filter_entries() applies it to the published entries.
"""

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from techmap.catalog import names
from techmap.catalog.geo import parse_bbox
from techmap.catalog.models import Category, Company, Country, Entry, Topic

FILTER_PARAMS = ("company", "category", "country", "topic", "year_from", "year_to", "q")
MAX_QUERY_LENGTH = 200


class FilterError(ValueError):
    """A filter value a client sent is invalid; the message is safe to show them."""


@dataclass(frozen=True)
class EntryFilters:
    companies: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    q: str = ""
    bbox: tuple[float, float, float, float] | None = None
    extra: dict = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (
            self.companies
            or self.categories
            or self.countries
            or self.topics
            or self.year_from
            or self.year_to
            or self.q
            or self.bbox
        )

    def as_query(self) -> list[tuple[str, str]]:
        """The filters as query-string pairs, in a stable order (for links and downloads)."""
        pairs = [("company", v) for v in self.companies]
        pairs += [("category", v) for v in self.categories]
        pairs += [("country", v) for v in self.countries]
        pairs += [("topic", v) for v in self.topics]
        if self.year_from is not None:
            pairs.append(("year_from", str(self.year_from)))
        if self.year_to is not None:
            pairs.append(("year_to", str(self.year_to)))
        if self.q:
            pairs.append(("q", self.q))
        return pairs


def _values(params, name) -> list[str]:
    """All values of a parameter, accepting repeats (?a=x&a=y) and commas (?a=x,y)."""
    raw = params.getlist(name) if hasattr(params, "getlist") else params.get(name) or []
    if isinstance(raw, str):
        raw = [raw]
    values = []
    for item in raw:
        if "\x00" in str(item):  # PostgreSQL cannot even compare text holding NUL
            raise FilterError(f"{name} must not contain NUL characters")
        values += [v.strip() for v in str(item).split(",") if v.strip()]
    return values


def _year(params, name) -> int | None:
    values = _values(params, name)
    if not values:
        return None
    if len(values) > 1:
        raise FilterError(f"{name} takes one year")
    try:
        year = int(values[0])
    except ValueError:
        raise FilterError(f"{name} must be a year such as 2018, not {values[0][:20]!r}") from None
    if not 1900 <= year <= 2100:
        raise FilterError(f"{name} must be between 1900 and 2100")
    return year


def _known(values, model, field_name, label) -> tuple[str, ...]:
    if not values:
        return ()
    rows = model.objects.filter(**{f"{field_name}__in": values})
    found = set(rows.values_list(field_name, flat=True))
    unknown = [v for v in values if v not in found]
    if unknown:
        raise FilterError(f"unknown {label}: {', '.join(unknown[:5])[:200]}")
    return tuple(dict.fromkeys(values))


def parse_filters(params, *, allow_bbox: bool = False) -> EntryFilters:
    """Validate filter parameters; raise FilterError naming the first bad one."""
    q = " ".join(_values(params, "q")) if "q" in params else ""
    if len(q) > MAX_QUERY_LENGTH:
        raise FilterError(f"q is limited to {MAX_QUERY_LENGTH} characters")
    filters = EntryFilters(
        companies=_known(_values(params, "company"), Company, "slug", "company"),
        categories=_known(_values(params, "category"), Category, "slug", "category"),
        countries=_known(
            [v.upper() for v in _values(params, "country")],
            Country,
            "iso2",
            "country",
        ),
        topics=_known(_values(params, "topic"), Topic, "slug", "topic"),
        year_from=_year(params, "year_from"),
        year_to=_year(params, "year_to"),
        q=q.strip(),
        bbox=_bbox(params) if allow_bbox else None,
    )
    if filters.year_from and filters.year_to and filters.year_from > filters.year_to:
        raise FilterError("year_from must not be after year_to")
    return filters


def _bbox(params):
    values = params.getlist("bbox") if hasattr(params, "getlist") else [params.get("bbox")]
    values = [v for v in values if v]
    if not values:
        return None
    if len(values) > 1:
        raise FilterError("bbox is given once: west,south,east,north")
    try:
        return parse_bbox(values[0])
    except ValueError as exc:
        raise FilterError(str(exc)) from None


def filter_entries(filters: EntryFilters, queryset: QuerySet | None = None) -> QuerySet:
    """Published entries matching filters (distinct, unordered)."""
    qs = Entry.objects.published() if queryset is None else queryset
    if filters.companies:
        qs = qs.filter(companies__slug__in=filters.companies)
    if filters.categories:
        qs = qs.filter(
            Q(category__slug__in=filters.categories)
            | Q(secondary_category__slug__in=filters.categories)
        )
    if filters.countries:
        qs = qs.filter(country__iso2__in=filters.countries)
    if filters.topics:
        qs = qs.filter(topics__slug__in=filters.topics)
    qs = qs.filter(years_q(filters.year_from, filters.year_to))
    if filters.q:
        for word in filters.q.split()[:10]:
            qs = qs.filter(
                Q(title__icontains=word)
                | Q(description__icontains=word)
                | Q(city__icontains=word)
                | Q(partners__icontains=word)
                | Q(country__name__icontains=word)
                | Q(companies__name__icontains=word)
                | Q(public_id__iexact=word)
                | names.search_q(word)  # Chinese names of companies, countries, cities
            )
    if filters.bbox:
        qs = entries_in_bbox(qs, filters.bbox)
    if filters.companies or filters.topics or filters.q:
        # Joins through many-to-many relations can repeat rows; keep each entry once.
        qs = Entry.objects.filter(pk__in=qs.values("pk"))
    return qs


def years_q(year_from: int | None, year_to: int | None, prefix: str = "") -> Q:
    """Entries (or, with prefix "entry__", rows pointing at them) overlapping the years.

    An entry overlaps the year range when it started before its end and had not ended
    before its start; entries without years only match when no year filter is set.
    """
    q = Q()
    if year_from is not None:
        q &= Q(**{f"{prefix}year_ended__gte": year_from}) | Q(
            **{f"{prefix}year_ended__isnull": True, f"{prefix}year_started__isnull": False}
        )
    if year_to is not None:
        q &= Q(**{f"{prefix}year_started__lte": year_to})
    return q


def entries_in_bbox(queryset: QuerySet, bbox: tuple[float, float, float, float]) -> QuerySet:
    """Entries of queryset whose point lies inside bbox (west, south, east, north)."""
    west, south, east, north = bbox
    qs = queryset.filter(latitude__gte=south, latitude__lte=north)
    if west <= east:
        return qs.filter(longitude__gte=west, longitude__lte=east)
    # The box crosses the antimeridian: it spans [west, 180] and [-180, east].
    return qs.filter(Q(longitude__gte=west) | Q(longitude__lte=east))
