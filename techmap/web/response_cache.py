"""A per-process cache of whole public answers, kept while the published data are unchanged.

Building the map page or a clustered /api/map answer over a million entries takes a large
part of a second; a launch-day crowd asks for the same few URLs again and again. So each
server process keeps the finished bytes and headers of anonymous public GET answers,
keyed by everything the body depends on: host and scheme (absolute links in social-card
metadata), path and query, and the page language. Each stored answer carries the data
version it was built from (read_data_version(): a few indexed MAX()es, about a millisecond),
and is only reused while that version is current, so an edit, an import or a release is
seen by the next request, in every process.

Only answers that PublicCacheMiddleware marks public are stored: no logged-in user, no
CSRF token, no cookie set, no private or no-store Cache-Control. Requests carrying any
cookie but the CSRF and language cookies (a session, pending messages) bypass the cache.
The size is bounded (TECHMAP_RESPONSE_CACHE_MB per process, least recently used first out;
0 turns it off).
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpResponse
from django.utils import translation

# Cookies that do not change a public answer: the CSRF cookie (public answers hold no
# token) and the language cookie (the language is part of the key).
NEUTRAL_COOKIES = {settings.CSRF_COOKIE_NAME, settings.LANGUAGE_COOKIE_NAME}


@dataclass(frozen=True)
class Stored:
    version: object  # the DataVersion the answer was built from
    status: int
    content: bytes
    headers: tuple  # (name, value) pairs

    def response(self) -> HttpResponse:
        response = HttpResponse(self.content, status=self.status)
        for name, value in self.headers:
            response[name] = value
        return response


class ResponseCache:
    """Answers by key, bounded in bytes, least recently used first out; thread-safe."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, version) -> Stored | None:
        with self._lock:
            stored = self._items.get(key)
            if stored is None:
                return None
            if stored.version != version:
                self._drop(key)
                return None
            self._items.move_to_end(key)
            return stored

    def put(self, key, stored: Stored) -> None:
        cost = len(stored.content)
        if cost > self.max_bytes // 8:  # one huge answer must not push out all the rest
            return
        with self._lock:
            if key in self._items:
                self._drop(key)
            self._items[key] = stored
            self.size += cost
            while self.size > self.max_bytes:
                self._drop(next(iter(self._items)))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.size = 0

    def _drop(self, key) -> None:
        self.size -= len(self._items.pop(key).content)


_cache: ResponseCache | None = None
_cache_lock = threading.Lock()


def shared_cache() -> ResponseCache | None:
    """This process's cache, sized by TECHMAP_RESPONSE_CACHE_MB (None when 0)."""
    global _cache
    max_bytes = int(settings.TECHMAP["RESPONSE_CACHE_MB"]) * 1024 * 1024
    if max_bytes <= 0:
        return None
    with _cache_lock:
        if _cache is None or _cache.max_bytes != max_bytes:
            _cache = ResponseCache(max_bytes)
        return _cache


def key_for(request, private_paths) -> tuple | None:
    """The cache key of a request, or None when its answer may not come from the cache."""
    if request.method != "GET" or request.path.startswith(private_paths):
        return None
    if set(request.COOKIES) - NEUTRAL_COOKIES:
        return None
    return (request.get_host(), request.is_secure(), request.get_full_path(),
            translation.get_language())  # fmt: skip


def storable(response, version) -> Stored | None:
    """What to keep of a finished public 200 answer (None for streamed bodies)."""
    if response.streaming or response.status_code != 200:
        return None
    return Stored(version, response.status_code, response.content, tuple(response.items()))


def forget() -> None:
    """Drop every stored answer of this process (tests, and after a settings change)."""
    with _cache_lock:
        if _cache is not None:
            _cache.clear()


# Answers depend on settings too (page sizes, point limits): a change, which only tests
# make at run time, must not be answered from before it.
setting_changed.connect(lambda **kwargs: forget(), weak=False)
