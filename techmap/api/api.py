"""The public JSON API, mounted at /api/ (OpenAPI document at /api/openapi.json).

Every bad parameter becomes a 400 with {"detail": "..."}, an unknown id a 404.
"""

from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from techmap.api import directory, entries
from techmap.api.responses import error_response
from techmap.catalog.queries import FilterError

api = NinjaAPI(
    title="techmap API",
    version="1",
    description="Published entries of the tech map, their GeoJSON, the map's clustered "
    "points, filter counts, companies, categories, topics, countries and statistics. "
    "Responses do not vary by language: every company, category, topic and country carries "
    "`name` (English) and `name_zh` (Chinese, an empty string when unknown). "
    "Data licence: CC BY-SA 4.0.",
    urls_namespace="api",
    # Ninja's docs page loads Swagger UI from a CDN unless "ninja" is an installed app;
    # our pages never request another host, so the page is off. The OpenAPI JSON stays.
    docs_url=None,
)
api.add_router("/", entries.router)
api.add_router("/", directory.router)


@api.exception_handler(FilterError)
def bad_filter(request, exc):
    return error_response(400, str(exc))


def _validation_message(errors: list[dict]) -> str:
    """Ninja/pydantic errors as 'name: problem' sentences a client can act on."""
    parts = []
    for error in errors:
        name = ".".join(str(p) for p in error.get("loc", ())[1:] if p != "") or "request"
        parts.append(f"{name}: {error.get('msg', 'invalid value')}")
    return "; ".join(parts) or "invalid request"


@api.exception_handler(ValidationError)
def bad_parameter(request, exc):
    # Ninja answers 422 by default; a malformed query string is a plain 400 here.
    return error_response(400, _validation_message(exc.errors))


@api.exception_handler(HttpError)
def http_error(request, exc):
    return error_response(exc.status_code, exc.message)
