"""JSON responses of the API: fast orjson encoding and the public cache header."""

import orjson
from django.http import HttpResponse

PUBLIC_CACHE_CONTROL = "public, max-age=60"


def json_response(data, *, status: int = 200, content_type: str = "application/json"):
    """data encoded with orjson; successful responses may be cached by browsers and proxies."""
    response = HttpResponse(orjson.dumps(data), status=status, content_type=content_type)
    if status == 200:
        response["Cache-Control"] = PUBLIC_CACHE_CONTROL
    return response


def error_response(status: int, detail: str):
    return json_response({"detail": detail}, status=status)


def page_url(request, **changes) -> str:
    """The absolute address of this request with some query parameters replaced."""
    query = request.GET.copy()
    for name, value in changes.items():
        query[name] = str(value)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def is_lookup_key(value: str) -> bool:
    """Whether a path value can name a row (NUL would make PostgreSQL raise, not miss)."""
    return "\x00" not in value
