"""HTTP caching of public GETs (techmap.web.caching.PublicCacheMiddleware).

Public answers carry Cache-Control public, an ETag and Last-Modified, and conditional
requests get 304 with no body; private areas, logged-in users and pages with a form are
never cached by shared caches.
"""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpResponse, StreamingHttpResponse
from django.middleware.csrf import get_token
from django.test import RequestFactory
from django.utils import timezone
from django.utils.http import http_date

from techmap.catalog.models import Entry
from techmap.web import caching

PUBLIC_PATHS = [
    "/",
    "/entries/",
    "/api/entries.geojson",
    "/api/map?bbox=-180,-85,180,85&zoom=2",
    "/api/entries?limit=5",
    "/download/entries.csv",
]
LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def fresh_version():
    caching.forget_data_version()
    yield
    caching.forget_data_version()


@pytest.fixture
def settled(bundled):
    """The bundled data, last changed long ago (so a change now moves Last-Modified)."""
    Entry.objects.update(updated=LONG_AGO)
    for table_model in _history_models():
        table_model.objects.update(history_date=LONG_AGO)
    return None


def _history_models():
    from django.apps import apps

    for model in apps.get_app_config("catalog").get_models():
        manager = getattr(model._meta, "simple_history_manager_attribute", None)
        if manager:
            yield getattr(model, manager).model


def _directives(response) -> set[str]:
    return {d.strip().split("=")[0] for d in response.get("Cache-Control", "").split(",")}


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_public_gets_send_validators_and_a_public_max_age(client, settled, path):
    response = client.get(path)
    assert response.status_code == 200
    assert "public" in _directives(response)
    assert "max-age=60" in response["Cache-Control"]
    assert response.has_header("ETag")
    assert response["Last-Modified"] == http_date(LONG_AGO.timestamp())
    _body(response)


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_if_none_match_with_the_current_etag_gets_304_and_no_body(client, settled, path):
    etag = client.get(path)["ETag"]
    again = client.get(path, headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert "public" in _directives(again)


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_if_modified_since_the_last_change_gets_304_and_no_body(client, settled, path):
    last_modified = client.get(path)["Last-Modified"]
    again = client.get(path, headers={"if-modified-since": last_modified})
    assert again.status_code == 304
    assert again.content == b""


def test_head_requests_get_the_same_validators_and_304(client, settled):
    get = client.get("/entries/")
    head = client.head("/entries/")
    assert head.status_code == 200
    assert head["ETag"] == get["ETag"]
    assert client.head("/entries/", headers={"if-none-match": get["ETag"]}).status_code == 304


def test_streamed_downloads_get_a_weak_etag_of_the_data_version(client, settled):
    response = client.get("/download/entries.csv")
    assert response.streaming
    assert response["ETag"].startswith('W/"d-')
    _body(response)
    assert client.get("/api/entries.geojson")["ETag"].startswith('"')  # hashed body


@pytest.mark.parametrize("path", ["/entries/", "/api/entries.geojson", "/download/entries.csv"])
def test_after_an_entry_changes_the_validators_change_and_200_comes_back(client, settled, path):
    first = client.get(path)
    _body(first)
    entry = Entry.objects.published().order_by("public_id").first()
    entry.title = "A title changed after the first visit"
    entry.save()
    caching.forget_data_version()  # what VERSION_TTL does within a second
    for header, value in (
        ("if-none-match", first["ETag"]),
        ("if-modified-since", first["Last-Modified"]),
    ):
        again = client.get(path, headers={header: value})
        assert again.status_code == 200, header
        assert again["ETag"] != first["ETag"]
        assert again["Last-Modified"] != first["Last-Modified"]
        assert b"A title changed" in _body(again)


def test_a_bulk_delete_without_history_changes_the_version(settled):
    before = caching.read_data_version()
    Entry.objects.filter(pk=Entry.objects.order_by("-pk").values("pk")[:1]).delete()
    assert caching.read_data_version().etag != before.etag


def test_the_data_version_is_read_once_per_ttl(settled, django_assert_num_queries):
    caching.data_version()
    with django_assert_num_queries(0):
        caching.data_version()


def test_errors_are_not_given_validators(client, settled):
    response = client.get("/entries/no-such-entry/")
    assert response.status_code == 404
    assert not response.has_header("ETag")
    assert "public" not in _directives(response)
    bad = client.get("/api/map?bbox=1,2,3&zoom=3")
    assert bad.status_code == 400
    assert "public" not in _directives(bad)


@pytest.mark.parametrize("path", ["/admin/", "/admin/login/", "/submit/", "/review/"])
def test_admin_review_and_submission_are_never_cached_publicly(client, settled, path):
    response = client.get(path)
    directives = _directives(response)
    assert "public" not in directives
    assert {"private", "no-store"} <= directives
    assert not response.has_header("ETag")


def test_logged_in_visitors_get_private_uncached_pages(client, settled):
    user = get_user_model().objects.create_user("editor", password="x")
    client.force_login(user)
    for path in ("/", "/entries/", "/api/entries.geojson"):
        response = client.get(path)
        assert response.status_code == 200
        directives = _directives(response)
        assert {"private", "no-store"} <= directives and "public" not in directives
        assert "Cookie" in response["Vary"]
        assert not response.has_header("ETag")
        etag = client.get(path, headers={"if-none-match": '"anything"'})
        assert etag.status_code == 200


def test_anonymous_api_answers_do_not_vary_on_cookie(client, settled):
    # Pages vary on the language cookie (tests/test_i18n.py); the data are the same in
    # every language, so caches keep one copy whatever cookies a visitor has.
    for path in ("/api/entries.geojson", "/api/facets"):
        assert "Cookie" not in client.get(path).get("Vary", "")


# --- the middleware alone -------------------------------------------------------------------


def _through_middleware(view, path="/somewhere/", method="get", **headers):
    request = getattr(RequestFactory(), method)(path, headers=headers)
    request.user = None  # anonymous: no session cookie is sent
    return caching.PublicCacheMiddleware(lambda r: view(r))(request)


def test_a_page_holding_a_csrf_token_is_private(settled):
    def form_view(request):
        return HttpResponse(f"<form><input value='{get_token(request)}'></form>")

    response = _through_middleware(form_view)
    assert {"private", "no-store"} <= _directives(response)
    assert not response.has_header("ETag")


def test_a_response_setting_a_cookie_is_private(settled):
    def view(request):
        response = HttpResponse("hello")
        response.set_cookie("seen", "1")
        return response

    assert "private" in _directives(_through_middleware(view))


@pytest.mark.parametrize("existing", ["no-store", "private, max-age=5", "public, max-age=5"])
def test_a_cache_control_set_by_the_view_is_kept(settled, existing):
    def view(request):
        response = HttpResponse("hello")
        response["Cache-Control"] = existing
        return response

    assert _through_middleware(view)["Cache-Control"] == existing


def test_posts_are_left_alone(settled):
    response = _through_middleware(lambda r: HttpResponse("done"), method="post")
    assert not response.has_header("Cache-Control")
    assert not response.has_header("ETag")


def test_a_streamed_body_answered_with_304_is_never_read(settled):
    read = []

    def rows():
        read.append(True)
        yield b"a,b\r\n"

    etag = caching.data_version().etag
    response = _through_middleware(
        lambda r: StreamingHttpResponse(rows()), **{"if-none-match": etag}
    )
    assert response.status_code == 304
    assert response.content == b""
    assert read == []


def test_last_modified_follows_the_newest_change(settled):
    assert caching.read_data_version().modified == LONG_AGO
    now = timezone.now()
    Entry.objects.filter(pk=Entry.objects.first().pk).update(updated=now)
    assert caching.read_data_version().modified == now
