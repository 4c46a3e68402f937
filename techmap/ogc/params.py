"""Query parameters of the OGC API: the output format, paging, datetime and filters.

Every invalid or unknown parameter raises OGCError with status 400, as OGC API - Features
Part 1 requires (/req/core/query-param-invalid and /req/core/query-param-unknown).
"""

import datetime as dt
from dataclasses import dataclass, replace

from django.conf import settings
from django.utils.dateparse import parse_date, parse_datetime

from techmap.api.params import MAX_OFFSET
from techmap.catalog.queries import FILTER_PARAMS, EntryFilters, FilterError, parse_filters

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
FORMATS = ("json", "html")
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
# crs and bbox-crs (OGC API - Features Part 2) are accepted when they name the only CRS served.
ITEMS_PARAMS = ("f", "bbox", "bbox-crs", "crs", "limit", "offset", "datetime", *FILTER_PARAMS)
ITEM_PARAMS = ("f", "crs")


class OGCError(Exception):
    """A request the API refuses, with its HTTP status, OGC exception code and message."""

    def __init__(self, status: int, description: str, code: str = "InvalidParameterValue"):
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description


def not_found(description: str) -> OGCError:
    return OGCError(404, description, code="NotFound")


def _single(params, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise OGCError(400, f"{name} is given once")
    return values[0] if values else None


def check_known(params, known=("f",)) -> None:
    """Refuse parameters this resource does not define."""
    unknown = sorted(set(params) - set(known))
    if unknown:
        names = ", ".join(n[:40] for n in unknown[:5])
        raise OGCError(400, f"unknown parameter: {names} (this resource takes {', '.join(known)})")


def check_crs(params) -> None:
    """Refuse a crs or bbox-crs other than CRS84 (longitude, latitude in WGS 84)."""
    for name in ("crs", "bbox-crs"):
        value = _single(params, name)
        if value is not None and value != CRS84:
            raise OGCError(400, f"{name} must be {CRS84}, the only coordinate system served")


def wants_html(request) -> bool:
    """Whether to answer in HTML: ?f=html, else an Accept header preferring text/html."""
    f = _single(request.GET, "f")
    if f is not None:
        if f not in FORMATS:
            raise OGCError(400, "f must be json or html")
        return f == "html"
    return request.get_preferred_type([JSON, GEOJSON, HTML]) == HTML


def _integer(params, name: str, minimum: int, maximum: int) -> int | None:
    value = _single(params, name)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise OGCError(400, f"{name} must be a whole number, not {value[:20]!r}") from None
    if not minimum <= number <= maximum:
        raise OGCError(400, f"{name} must be between {minimum} and {maximum}")
    return number


def _instant(text: str, end: bool) -> dt.datetime | None:
    """An RFC 3339 date-time or date (a date means its first or last moment); '..' is open."""
    if text in ("", ".."):
        return None
    try:
        moment = parse_datetime(text)
        day = None if moment else parse_date(text)
    except ValueError:
        moment = day = None
    if moment:
        return moment
    if day:
        return dt.datetime.combine(day, dt.time.max if end else dt.time.min)
    raise OGCError(
        400,
        "datetime must be a date-time such as 2018-02-12T00:00:00Z, a date, or an "
        "interval start/end with .. for an open end",
    )


def datetime_years(text: str) -> tuple[int | None, int | None]:
    """The years an OGC datetime (instant or interval) spans: entries are dated by year."""
    if text.count("/") > 1:
        raise OGCError(400, "datetime is one instant or one interval start/end")
    if "/" in text:
        first, last = text.split("/")
        if first in ("", "..") and last in ("", ".."):
            raise OGCError(400, "a datetime interval needs at least one end")
    else:
        if text == "..":
            raise OGCError(400, "datetime .. is only allowed as one end of an interval")
        first = last = text
    start, end = _instant(first, end=False), _instant(last, end=True)
    if start and end and start.replace(tzinfo=None) > end.replace(tzinfo=None):
        raise OGCError(400, "datetime interval starts after it ends")
    return (start.year if start else None), (end.year if end else None)


@dataclass(frozen=True)
class ItemsQuery:
    filters: EntryFilters
    limit: int
    offset: int
    empty: bool = False  # datetime and year_from/year_to leave no year in common


def parse_items_query(params) -> ItemsQuery:
    """The items request's filters and page; raise OGCError for anything invalid."""
    check_known(params, ITEMS_PARAMS)
    check_crs(params)
    conf = settings.TECHMAP
    # Above the maximum the page is shortened, as the standard allows, rather than refused.
    limit = _integer(params, "limit", 1, 10**9)
    limit = min(limit or conf["API_PAGE_SIZE"], conf["API_MAX_PAGE_SIZE"])
    offset = _integer(params, "offset", 0, MAX_OFFSET) or 0
    try:
        filters = parse_filters(params, allow_bbox=True)
    except FilterError as exc:
        raise OGCError(400, str(exc)) from None
    text = _single(params, "datetime")
    if not text:
        return ItemsQuery(filters=filters, limit=limit, offset=offset)
    start, end = datetime_years(text)
    year_from = _known(max, start, filters.year_from)
    year_to = _known(min, end, filters.year_to)
    return ItemsQuery(
        filters=replace(filters, year_from=year_from, year_to=year_to),
        limit=limit,
        offset=offset,
        empty=year_from is not None and year_to is not None and year_from > year_to,
    )


def _known(pick, *years: int | None) -> int | None:
    """pick (min or max) of the years that are given, or None."""
    given = [y for y in years if y is not None]
    return pick(given) if given else None
