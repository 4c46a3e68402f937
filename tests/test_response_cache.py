"""The per-process answer cache (techmap.web.response_cache): public answers are reused
while the published data are unchanged, never across a change, a language, a host or a
private request."""

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from techmap.catalog.models import Entry
from techmap.web import response_cache
from techmap.web.response_cache import ResponseCache, Stored

MAP = "/api/map?bbox=-180,-85,180,85&zoom=2"


def test_a_repeated_public_answer_costs_one_version_query(
    client, bundled, django_assert_num_queries
):
    first = client.get(MAP)
    with django_assert_num_queries(1):  # the data version; the view does not run
        again = client.get(MAP)
    assert again.status_code == 200
    assert again.content == first.content
    assert again["ETag"] == first["ETag"]
    assert again["Content-Security-Policy"] == first["Content-Security-Policy"]


def test_a_cached_answer_still_answers_a_conditional_request_with_304(client, bundled):
    first = client.get("/")
    again = client.get("/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""


def test_an_edit_is_seen_by_the_next_request(client, bundled):
    entry = Entry.objects.published().order_by("pk").first()
    url = f"/api/entries/{entry.public_id}"
    assert entry.title in client.get(url).content.decode()
    entry.title = "A title changed after the first answer"
    entry.save()
    assert "A title changed after the first answer" in client.get(url).content.decode()


def test_each_language_has_its_own_answer(client, bundled):
    english = client.get("/stats/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get("/stats/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert english != chinese
    assert client.get("/stats/", HTTP_ACCEPT_LANGUAGE="en").content.decode() == english


def test_each_host_has_its_own_answer(bundled, settings):
    settings.ALLOWED_HOSTS = ["a.example", "b.example"]
    page_a = Client(HTTP_HOST="a.example").get("/").content.decode()
    page_b = Client(HTTP_HOST="b.example").get("/").content.decode()
    assert "https://a.example/" in page_a or "http://a.example/" in page_a
    assert "a.example" not in page_b and "b.example" in page_b


def queries_of(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_requests_with_a_session_cookie_bypass_the_cache(client, bundled):
    client.get(MAP)
    assert queries_of(client, MAP) == 1  # the data version only
    client.cookies["sessionid"] = "not-a-real-session"
    assert queries_of(client, MAP) > 1  # the view ran


def test_pages_with_a_form_are_never_stored(client, bundled):
    client.get("/submit/")
    cache = response_cache.shared_cache()
    assert not any("/submit/" in key[2] for key in cache._items)


def test_the_cache_can_be_turned_off(client, bundled, settings):
    settings.TECHMAP = {**settings.TECHMAP, "RESPONSE_CACHE_MB": 0}
    client.get(MAP)
    assert response_cache.shared_cache() is None
    assert queries_of(client, MAP) > 1


def _stored(size: int, version="v1") -> Stored:
    return Stored(version, 200, b"x" * size, (("Content-Type", "text/plain"),))


def test_the_cache_is_bounded_and_drops_the_least_recently_used():
    cache = ResponseCache(max_bytes=800)
    for key in "abcd":
        cache.put(key, _stored(100))
    cache.get("a", "v1")  # a is now the most recently used
    for key in "efghi":
        cache.put(key, _stored(100))
    assert cache.size <= 800
    assert cache.get("a", "v1") is not None
    assert cache.get("b", "v1") is None


def test_an_answer_of_another_version_is_dropped_not_served():
    cache = ResponseCache(max_bytes=1000)
    cache.put("a", _stored(10, version="old"))
    assert cache.get("a", "new") is None
    assert cache.size == 0


def test_one_answer_larger_than_an_eighth_of_the_cache_is_not_kept():
    cache = ResponseCache(max_bytes=800)
    cache.put("big", _stored(101))
    assert cache.get("big", "v1") is None and cache.size == 0
