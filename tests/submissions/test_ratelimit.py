"""Abuse control on /submit/: the rate limit counted in the database, client addresses
behind proxies, and the limit across two real gunicorn workers."""

import re
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from http.cookiejar import CookieJar

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils import timezone

from techmap.contributions import privacy, ratelimit
from techmap.contributions.forms import OTHER_COMPANY
from techmap.contributions.models import RateLimitHit, Submission
from tests.html_checks import parse
from tests.servers import techmap_server
from tests.submissions.support import ADDRESS, SUBMIT, post
from tests.test_cli import run_techmap, techmap_env

# --- rate limit ------------------------------------------------------------------------------


def test_post_over_the_rate_limit_is_429_with_retry_after(client, form_data, limit):
    limit(SUBMISSION_RATE_LIMIT="3/3600")
    for _ in range(3):
        assert post(client, form_data).status_code == 302
    response = post(client, form_data)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 3600
    assert "Too many submissions" in response.content.decode()
    assert len(parse(response).h1_texts) == 1
    assert Submission.objects.count() == 3


def test_a_forged_x_forwarded_for_does_not_reset_the_limit(client, form_data, limit):
    limit(SUBMISSION_RATE_LIMIT="2/3600", TRUSTED_PROXIES="")
    for i in range(2):
        assert post(client, form_data, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code == 302
    for forged in ("198.51.100.99", "10.0.0.1", "198.51.100.1, 192.0.2.4", "garbage"):
        assert post(client, form_data, HTTP_X_FORWARDED_FOR=forged).status_code == 429
    hashes = set(Submission.objects.values_list("address_hash", flat=True))
    assert hashes == {privacy.hash_address(ADDRESS)}


def test_behind_a_trusted_proxy_x_forwarded_for_is_honoured(client, form_data, limit):
    limit(SUBMISSION_RATE_LIMIT="2/3600", TRUSTED_PROXIES="10.0.0.1")
    proxy = "10.0.0.1"
    for _ in range(2):
        assert post(client, form_data, proxy, HTTP_X_FORWARDED_FOR="192.0.2.10").status_code == 302
    # The client can prepend anything; the right-most untrusted hop is still them.
    forged = "192.0.2.99, 192.0.2.10"
    assert post(client, form_data, proxy, HTTP_X_FORWARDED_FOR=forged).status_code == 429
    # Another client behind the same proxy has its own count.
    assert post(client, form_data, proxy, HTTP_X_FORWARDED_FOR="192.0.2.11").status_code == 302
    hashes = set(Submission.objects.values_list("address_hash", flat=True))
    assert hashes == {privacy.hash_address("192.0.2.10"), privacy.hash_address("192.0.2.11")}


def test_invalid_posts_do_not_use_up_the_limit(client, form_data, limit):
    limit(SUBMISSION_RATE_LIMIT="1/3600")
    for _ in range(3):
        assert post(client, {**form_data, "source_urls": ""}).status_code == 200
    assert post(client, form_data).status_code == 302
    assert post(client, {**form_data, "source_urls": ""}).status_code == 429


def test_honeypot_posts_use_up_the_limit(client, form_data, limit):
    limit(SUBMISSION_RATE_LIMIT="2/3600")
    for _ in range(2):
        assert post(client, {**form_data, "website": "spam"}).status_code == 302
    assert post(client, {**form_data, "website": "spam"}).status_code == 429


def test_two_clients_share_the_count_because_it_lives_in_the_database(form_data, limit):
    limit(SUBMISSION_RATE_LIMIT="2/3600")
    first, second = Client(), Client()
    assert post(first, form_data).status_code == 302
    assert post(second, form_data).status_code == 302
    assert post(first, form_data).status_code == 429
    assert post(second, form_data).status_code == 429
    row = RateLimitHit.objects.get()
    assert row.count == 2
    assert ADDRESS not in row.key_hash


def test_take_never_goes_past_the_limit(db, limit):
    limit(SUBMISSION_RATE_LIMIT="3/60")
    window = ratelimit.current_window("k" * 64)
    assert [ratelimit.take(window) for _ in range(5)] == [True, True, True, False, False]
    assert RateLimitHit.objects.get().count == 3
    assert ratelimit.is_exhausted(window)


def test_a_new_window_starts_a_new_count(db, limit):
    limit(SUBMISSION_RATE_LIMIT="1/60")
    now = timezone.now()
    first = ratelimit.current_window("k", now)
    later = ratelimit.current_window("k", now + timedelta(seconds=60))
    assert ratelimit.take(first) and not ratelimit.take(first)
    assert ratelimit.take(later)
    assert 1 <= first.retry_after(now) <= 60


@pytest.mark.parametrize("text", ["5", "five/3600", "0/60", "5/0", "1/2/3", ""])
def test_a_bad_rate_setting_is_a_clear_configuration_error(text):
    with pytest.raises(ImproperlyConfigured, match="SUBMISSION_RATE_LIMIT"):
        ratelimit.parse_rate(text)


class FakeRequest:
    def __init__(self, remote, forwarded=None):
        self.META = {"REMOTE_ADDR": remote}
        if forwarded is not None:
            self.META["HTTP_X_FORWARDED_FOR"] = forwarded


@pytest.mark.parametrize(
    "proxies, remote, forwarded, expected",
    [
        ("", "192.0.2.1", "198.51.100.1", "192.0.2.1"),
        ("10.0.0.1", "192.0.2.1", "198.51.100.1", "192.0.2.1"),  # not from our proxy
        ("10.0.0.1", "10.0.0.1", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.1", "10.0.0.1", "6.6.6.6, 198.51.100.1", "198.51.100.1"),
        ("10.0.0.0/8", "10.0.0.1", "198.51.100.1, 10.0.0.2", "198.51.100.1"),  # two proxies
        ("10.0.0.1", "10.0.0.1", "", "10.0.0.1"),  # no header: the proxy itself
        ("10.0.0.1", "10.0.0.1", None, "10.0.0.1"),
        ("10.0.0.1, ::1", "::1", " 2001:DB8::1 ", "2001:db8::1"),
    ],
)
def test_client_address(settings, proxies, remote, forwarded, expected):
    settings.TECHMAP = {**settings.TECHMAP, "TRUSTED_PROXIES": proxies}
    assert privacy.client_address(FakeRequest(remote, forwarded)) == expected


def test_ipv6_clients_are_counted_by_their_slash_64():
    assert privacy.rate_limit_key("2001:db8:1:2:aaaa::1") == privacy.rate_limit_key(
        "2001:db8:1:2:bbbb::9"
    )
    assert privacy.rate_limit_key("2001:db8:1:3::1") != privacy.rate_limit_key("2001:db8:1:2::1")
    assert privacy.rate_limit_key("192.0.2.1") == "192.0.2.1"
    assert privacy.rate_limit_key("::ffff:192.0.2.1") == "192.0.2.1"


def test_rate_limit_holds_across_two_gunicorn_workers(tmp_path):
    """`techmap serve --workers 2`: the (COUNT+1)th POST is refused whichever worker gets it."""
    env = techmap_env(tmp_path, TECHMAP_SUBMISSION_RATE_LIMIT="3/3600")
    run_techmap("init", "--empty", env=env)
    statuses = []
    with techmap_server(env, tmp_path, workers=2) as base:
        for i in range(5):
            # A fresh browser each time: new cookies, new CSRF token, a forged header.
            opener = urllib.request.build_opener(
                urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect()
            )
            with opener.open(base + SUBMIT, timeout=10) as resp:
                html = resp.read().decode()
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
            select = re.search(r'<select name="category".*?</select>', html, re.S).group(0)
            category = re.findall(r'<option value="([^"]+)"', select)[0]
            body = urllib.parse.urlencode(
                {
                    "csrfmiddlewaretoken": token,
                    "company": OTHER_COMPANY,
                    "other_company_name": "Acme",
                    "category": category,
                    "country": "KE",
                    "title": f"Served {i}",
                    "source_urls": "https://example.org/",
                }
            ).encode()
            request = urllib.request.Request(
                base + SUBMIT, data=body, headers={"X-Forwarded-For": f"198.51.100.{i}"}
            )
            try:
                with opener.open(request, timeout=10) as resp:
                    statuses.append(resp.status)
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
                if exc.code == 429:
                    assert int(exc.headers["Retry-After"]) > 0
    pids = set(re.findall(r"Booting worker with pid: (\d+)", (tmp_path / "server.log").read_text()))
    assert statuses == [302, 302, 302, 429, 429], statuses
    assert len(pids) == 2, "expected two gunicorn workers"
    db = sqlite3.connect(tmp_path / "techmap.sqlite3")
    try:
        stored = db.execute("SELECT count(*) FROM contributions_submission").fetchone()[0]
    finally:
        db.close()
    assert stored == 3


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None
