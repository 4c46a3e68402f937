"""Query parameters of the API, declared so the OpenAPI document lists and types them.

The endpoints still validate filters with techmap.catalog.queries.parse_filters (the
same rules as the web pages); these schemas document them and reject malformed types.
"""

from django.conf import settings
from ninja import Field, Schema

from techmap.catalog.clusters import MAX_ZOOM

BBOX_HELP = (
    "west,south,east,north in degrees (WGS 84). west > east means the box crosses the "
    "antimeridian."
)


class EntryFilterQuery(Schema):
    company: list[str] = Field(
        default_factory=list,
        description="Company slug; repeat the parameter or separate with commas for several.",
    )
    category: list[str] = Field(
        default_factory=list, description="Category slug (matches primary or secondary category).",
    )
    country: list[str] = Field(default_factory=list, description="ISO 3166-1 alpha-2 code.")
    topic: list[str] = Field(default_factory=list, description="Topic slug.")
    year_from: int | None = Field(
        None, ge=1900, le=2100, description="Entries still active in or after this year.",
    )
    year_to: int | None = Field(
        None, ge=1900, le=2100, description="Entries started in or before this year.",
    )
    q: str | None = Field(
        None, max_length=200, description="Words that must all appear (title, description, ...).",
    )


class BboxQuery(Schema):
    bbox: str | None = Field(None, description=f"Only entries with a point inside: {BBOX_HELP}")


# Databases store offsets as 64-bit integers; a bound keeps absurd values a 400, not a 500.
MAX_OFFSET = 1_000_000_000


class PageQuery(Schema):
    limit: int | None = Field(None, ge=1, description="Page size (capped at the server maximum).")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Number of results to skip.")


class MapQuery(Schema):
    bbox: str = Field(..., description=f"The map view: {BBOX_HELP}")
    zoom: int = Field(..., ge=0, le=MAX_ZOOM, description="The map's integer zoom level, 0-22.")


def page_limit(limit: int | None, setting_default: str, setting_max: str) -> int:
    """The page size asked for, else the default, never above the maximum setting."""
    conf = settings.TECHMAP
    return min(limit or conf[setting_default], conf[setting_max])
