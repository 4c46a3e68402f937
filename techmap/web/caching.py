"""HTTP caching of public pages, API answers and downloads, for browsers, proxies and CDNs.

PublicCacheMiddleware gives every anonymous GET/HEAD 200 response outside the private
areas (PRIVATE_PATHS) validators and a shared-cache lifetime, and answers conditional
requests with 304 Not Modified:

- ``Cache-Control: public, max-age=60`` unless the view set Cache-Control itself (the
  view's choice is kept, e.g. ``no-store``);
- ``Last-Modified``: the newest change of the published data (data_version());
- ``ETag``: a hash of the body, or for streamed downloads, whose body is not known
  beforehand, a weak ETag of data_version().

Pages and the JavaScript translation catalog also get ``Vary: Accept-Language, Cookie``:
their language comes from the browser or the language switch's cookie (settings.LANGUAGES).
Their hashed ETags differ per language because their bodies do.

Requests from logged-in users, the admin, the review and submission areas, and any page
that put a CSRF token or a cookie into its response are marked ``private, no-store`` with
``Vary: Cookie`` instead, so no shared cache ever stores a form or a personal page.
docs/deployment.md shows nginx and a CDN in front of this.
"""

import functools
import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.utils.cache import (
    add_never_cache_headers,
    get_conditional_response,
    patch_cache_control,
    patch_vary_headers,
    set_response_etag,
)
from django.utils.dateparse import parse_datetime
from django.utils.http import http_date, parse_http_date_safe

from techmap.catalog.models import Entry
from techmap.releases.models import Release
from techmap.web import response_cache

PUBLIC_MAX_AGE = 60
PRIVATE_PATHS = ("/admin/", "/review/", "/submit/")
# How long one process reuses data_version() for Last-Modified and streamed downloads' weak
# ETags. The read is a few indexed MAX()es (about a millisecond); answers may already be
# PUBLIC_MAX_AGE seconds old in any cache, so a second more changes nothing for readers.
# The answer cache (response_cache) and the memos read the version exactly, every request.
VERSION_TTL = 1.0


@dataclass(frozen=True)
class DataVersion:
    """What the public answers depend on: the newest change and the size of the data."""

    modified: datetime | None
    top_id: int
    releases: int

    @property
    def etag(self) -> str:
        """A weak ETag naming this version (for bodies that are not hashed)."""
        text = f"{self.modified.isoformat() if self.modified else ''}|{self.top_id}|{self.releases}"
        return f'W/"d-{hashlib.sha256(text.encode()).hexdigest()[:32]}"'


_memo: dict = {}
_memo_lock = threading.Lock()


def _as_datetime(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_datetime(value)  # SQLite returns text
    return parsed.replace(tzinfo=UTC) if parsed and parsed.tzinfo is None else parsed


@functools.cache
def _history_tables() -> tuple[str, ...]:
    """The history tables (django-simple-history) of the catalog's models. Found once per
    process: each look-up of a model's history manager builds a new manager class (half a
    millisecond for the catalog's models), and the map and facets read the data version on
    every request."""
    tables = []
    for model in apps.get_app_config("catalog").get_models():
        manager = getattr(model._meta, "simple_history_manager_attribute", None)
        if manager:
            tables.append(getattr(model, manager).model._meta.db_table)
    return tuple(tables)


def read_data_version() -> DataVersion:
    """The current DataVersion, in one query.

    The newest change is the latest of: an entry's ``updated`` (bulk imports write no
    history), a release, and any history row of the catalog (edits and deletions of entries,
    companies, sources, categories, topics in the admin; indexed, so cheap). The top entry id
    catches bulk deletions of the newest entries (``techmap synth --delete``), which leave
    no history. Every part is an indexed MAX() or a small COUNT().
    """
    qn = connection.ops.quote_name
    entries, releases = qn(Entry._meta.db_table), qn(Release._meta.db_table)
    changes = [
        f"(SELECT MAX({qn('updated')}) FROM {entries})",
        f"(SELECT MAX({qn('created')}) FROM {releases})",
    ]
    changes += [f"(SELECT MAX({qn('history_date')}) FROM {qn(t)})" for t in _history_tables()]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT MAX({qn('id')}) FROM {entries}), (SELECT COUNT(*) FROM {releases}),"
            f" {', '.join(changes)}"
        )
        top_id, release_count, *times = cursor.fetchone()
    newest = [d for d in map(_as_datetime, times) if d]
    return DataVersion(max(newest) if newest else None, top_id or 0, release_count)


def data_version() -> DataVersion:
    """read_data_version(), reused for VERSION_TTL seconds within this process."""
    now = time.monotonic()
    with _memo_lock:
        if _memo and now - _memo["at"] < VERSION_TTL:
            return _memo["version"]
    version = read_data_version()
    with _memo_lock:
        _memo.update(at=now, version=version)
    return version


def forget_data_version() -> None:
    """Make the next data_version() read the database (after a change, in tests)."""
    with _memo_lock:
        _memo.clear()


def _is_logged_in(request) -> bool:
    # No session cookie means anonymous; checking first leaves the session untouched,
    # so anonymous answers do not gain a needless "Vary: Cookie".
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return False
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated)


def is_private(request, response) -> bool:
    """Whether response must never be stored by a shared cache."""
    return (
        request.path.startswith(PRIVATE_PATHS)
        or _is_logged_in(request)
        # The page holds a CSRF token (a form) or sets a cookie: both belong to one visitor.
        or bool(request.META.get("CSRF_COOKIE_NEEDS_UPDATE"))
        or bool(response.cookies)
    )


def is_translated(response) -> bool:
    """Whether the body is in the visitor's language: pages and the JavaScript catalog.

    The API's JSON and the downloads are the same in every language, so caches keep one
    copy of them whatever cookies a visitor has.
    """
    content_type = response.get("Content-Type", "")
    return content_type.startswith(("text/html", "text/javascript"))


def _cache_directives(response) -> set[str]:
    header = response.get("Cache-Control", "")
    return {part.strip().split("=")[0].lower() for part in header.split(",")}


class PublicCacheMiddleware:
    """Cache-Control, ETag and Last-Modified on public GETs; 304 for conditional requests."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        cache = response_cache.shared_cache()
        key = cache and response_cache.key_for(request, PRIVATE_PATHS)
        if key:
            version_before = read_data_version()  # exact: the cache must never serve stale data
            stored = cache.get(key, version_before)
            if stored is not None:
                return self._conditional(request, stored.response())
        response = self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return response
        if is_private(request, response):
            add_never_cache_headers(response)  # also turns "public" into "private"
            patch_vary_headers(response, ["Cookie"])
            return response
        if response.status_code != 200:
            return response
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
        elif _cache_directives(response) & {"private", "no-store"}:
            return response
        if is_translated(response):
            # The language comes from the django_language cookie or Accept-Language.
            patch_vary_headers(response, ["Accept-Language", "Cookie"])
        version = version_before if key else None
        if not response.has_header("Last-Modified"):
            version = version or data_version()
            if version.modified:
                response["Last-Modified"] = http_date(version.modified.timestamp())
        if not response.has_header("ETag"):
            if response.streaming:
                response["ETag"] = (version or data_version()).etag
            else:
                set_response_etag(response)
        if key:
            stored = response_cache.storable(response, version_before)
            if stored is not None:
                cache.put(key, stored)
        return self._conditional(request, response)

    @staticmethod
    def _conditional(request, response):
        # A streamed body answered by a 304 is never started; it is released when the
        # response is dropped (close() here would also fire request_finished mid-request).
        return get_conditional_response(
            request,
            etag=response["ETag"],
            last_modified=parse_http_date_safe(response.get("Last-Modified", "")),
            response=response,
        )
