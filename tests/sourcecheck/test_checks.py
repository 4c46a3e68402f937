"""Source health: fetching, recorded checks, dead links, the command and the CLI.

Everything runs against a local HTTP server started here; nothing contacts the internet.
The address guard is relaxed (SOURCE_CHECK_ALLOW_PRIVATE) only through explicit overrides.
Tests that need a "public" host use a fake resolver that maps test names to public
addresses and a fake connection factory that routes those addresses to the local server,
recording every address a connection was opened to.
"""

import json
import os
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.management import call_command

from techmap.sourcecheck.checks import (
    check_source,
    check_sources,
    dead_sources,
    find_archived_copy,
    sources_to_check,
)
from techmap.sourcecheck.fetch import FetchError, FetchRefused, FetchResult, fetch
from techmap.sourcecheck.models import SourceCheck
from tests.sourcecheck.support import PUBLIC_IP, TECHMAP, Handler, addrinfo, make_source

# --- fetching from the local server (guard relaxed by explicit override) --------------------


def test_a_200_page_is_ok(base, allow_private):
    result = fetch(f"{base}/ok")
    assert (result.status_code, result.final_url, result.redirects) == (200, f"{base}/ok", 0)
    assert Handler.hits[0][0] == "HEAD"


@pytest.mark.parametrize("path, status", [("/missing", 404), ("/error", 500)])
def test_error_statuses_are_returned_not_raised(base, allow_private, path, status):
    assert fetch(f"{base}{path}").status_code == status


def test_head_refused_falls_back_to_get(base, allow_private):
    result = fetch(f"{base}/head-405")
    assert result.status_code == 200
    assert [hit[0] for hit in Handler.hits] == ["HEAD", "GET"]


def test_a_redirect_chain_is_followed_to_the_final_url(base, allow_private):
    result = fetch(f"{base}/redirect/4")
    assert (result.status_code, result.final_url, result.redirects) == (200, f"{base}/ok", 4)


def test_non_ascii_and_spaces_in_a_path_are_percent_encoded(base, allow_private):
    assert fetch(f"{base}/caf\u00e9 menu?q=\u00fc").status_code == 404
    assert Handler.hits[0][1] == "/caf%C3%A9%20menu?q=%C3%BC"


def test_more_than_five_redirects_fail(base, allow_private):
    with pytest.raises(FetchError, match="more than 5 redirects") as failed:
        fetch(f"{base}/loop")
    assert failed.value.status_code == 302
    assert len(Handler.hits) == 6


def test_an_endless_body_is_read_only_up_to_the_cap(base, allow_private):
    result = fetch(f"{base}/endless", method="GET", max_bytes=100_000)
    assert result.status_code == 200
    assert len(result.body) == 100_000
    assert result.truncated


def test_the_body_cap_comes_from_the_setting(base, allow_private, techmap_settings):
    techmap_settings(SOURCE_CHECK_MAX_BYTES=5000)
    result = fetch(f"{base}/endless")  # HEAD is refused there: falls back to GET
    assert (result.status_code, len(result.body), result.truncated) == (200, 5000, True)


def test_a_slow_response_times_out(base, allow_private, techmap_settings):
    techmap_settings(SOURCE_CHECK_TIMEOUT=1)
    with pytest.raises(FetchError, match="timed out"):
        fetch(f"{base}/slow")


def test_a_trickling_body_is_cut_off_at_the_overall_deadline(base, allow_private, techmap_settings):
    # Every byte comes within the timeout; only a deadline for the whole fetch stops it.
    techmap_settings(SOURCE_CHECK_TIMEOUT=1)
    with pytest.raises(FetchError, match="timed out"):
        fetch(f"{base}/trickle", method="GET")


def test_a_closed_port_is_a_network_error(allow_private):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match="network error"):
        fetch(f"http://127.0.0.1:{port}/")


def test_an_unresolvable_name_is_an_error_not_a_refusal(internet):
    with pytest.raises(FetchError) as failed:
        fetch("http://nowhere.test/")
    assert not isinstance(failed.value, FetchRefused)


# --- recorded checks ------------------------------------------------------------------------


@pytest.mark.django_db
def test_check_source_records_status_final_url_and_time(base, allow_private):
    source = make_source(f"{base}/redirect/2")
    check = check_source(source)
    check.refresh_from_db()
    assert (check.ok, check.status_code, check.final_url) == (True, 200, f"{base}/ok")
    assert check.url == source.url and check.checked_at is not None
    assert check.elapsed_ms is not None and check.error == ""
    assert list(source.checks.all()) == [check]


@pytest.mark.django_db
@pytest.mark.parametrize("path, status", [("/missing", 404), ("/error", 500)])
def test_error_statuses_are_recorded_as_dead(base, allow_private, path, status):
    check = check_source(make_source(f"{base}{path}"))
    assert (check.ok, check.refused, check.status_code, check.outcome) == (
        False,
        False,
        status,
        "dead",
    )


@pytest.mark.django_db
def test_a_timeout_is_recorded_as_dead(base, allow_private, techmap_settings):
    techmap_settings(SOURCE_CHECK_TIMEOUT=1)
    check = check_source(make_source(f"{base}/slow"))
    assert (check.ok, check.status_code, check.error) == (False, None, "timed out")


@pytest.mark.django_db
def test_checks_are_kept_as_history_and_dead_sources_uses_the_latest(base, allow_private):
    flaky = make_source(f"{base}/missing")
    first = check_source(flaky)
    assert dead_sources() == [(flaky, first)]
    flaky.url = f"{base}/ok"
    flaky.save()
    check_source(flaky)
    assert dead_sources() == []
    assert flaky.checks.count() == 2


@pytest.mark.django_db
def test_editing_a_dead_source_url_takes_it_off_the_dead_list(base, allow_private):
    source = make_source(f"{base}/missing")
    check_source(source)
    source.url = f"{base}/ok?fixed"
    source.save()
    assert dead_sources() == []
    assert list(sources_to_check(url_prefix=f"{base}/")) == [source]


@pytest.mark.django_db
def test_dead_sources_lists_newest_failures_first_and_respects_limit(base, allow_private):
    gone = make_source(f"{base}/missing")
    broken = make_source(f"{base}/error")
    fine = make_source(f"{base}/ok")
    for source in (gone, broken, fine):
        check_source(source)
    dead = dead_sources()
    assert [source for source, _check in dead] == [broken, gone]
    assert all(not check.ok for _source, check in dead)
    assert dead_sources(limit=1) == dead[:1]


@pytest.mark.django_db
def test_sources_to_check_takes_never_checked_then_least_recently_checked(base, allow_private):
    prefix = f"{base}/"
    older = make_source(f"{base}/ok?older")
    newer = make_source(f"{base}/ok?newer")
    check_source(older)
    check_source(newer)
    never = make_source(f"{base}/ok?never")
    make_source("", title="print source")
    make_source("ftp://files.test/x", title="not http")
    order = list(sources_to_check(url_prefix=prefix))
    assert order == [never, older, newer]
    assert list(sources_to_check(limit=2, url_prefix=prefix)) == [never, older]


@pytest.mark.django_db
def test_check_sources_summarises_ok_dead_and_refused(internet):
    internet.names["site.test"] = [PUBLIC_IP]
    site = f"http://site.test:{internet.server_port}"
    for path in ("/ok", "/missing", "/error", "/to-metadata"):
        make_source(f"{site}{path}")
    summary = check_sources(url_prefix=f"{site}/")
    counts = summary.counts
    assert (counts["checked"], counts["ok"], counts["dead"], counts["refused"]) == (4, 1, 2, 1)
    assert sorted(check.url for check in summary.failed) == [
        f"{site}/error",
        f"{site}/missing",
        f"{site}/to-metadata",
    ]
    assert set(internet.connections) == {PUBLIC_IP}


@pytest.mark.django_db
def test_check_sources_respects_limit(base, allow_private):
    for path in ("/ok", "/missing", "/error"):
        make_source(f"{base}{path}")
    assert len(check_sources(limit=2, url_prefix=f"{base}/").checks) == 2
    assert SourceCheck.objects.count() == 2


# --- archive lookup (always with a fake fetcher) --------------------------------------------


def fake_fetcher(calls, archived="http://web.archive.org/web/2020/https://gone.test/page"):
    def fetcher(url, method="HEAD", **kwargs):
        calls.append((url, method))
        if url.startswith("https://archive.org/wayback/available?"):
            snapshot = {"available": True, "url": archived, "status": "200"}
            body = json.dumps({"archived_snapshots": {"closest": snapshot}}).encode()
            return FetchResult(url=url, final_url=url, status_code=200, elapsed_ms=1, body=body)
        return FetchResult(url=url, final_url=url, status_code=404, elapsed_ms=1)

    return fetcher


@pytest.mark.django_db
def test_archive_lookup_is_off_by_default(settings):
    assert settings.TECHMAP["ARCHIVE_LOOKUP"] is False
    calls = []
    check_source(make_source("https://gone.test/page"), fetcher=fake_fetcher(calls))
    assert calls == [("https://gone.test/page", "HEAD")]


@pytest.mark.django_db
def test_archive_lookup_stores_an_archived_url_when_the_source_has_none(techmap_settings):
    techmap_settings(ARCHIVE_LOOKUP=True)
    calls = []
    source = make_source("https://gone.test/page")
    check = check_source(source, fetcher=fake_fetcher(calls))
    expected = "https://web.archive.org/web/2020/https://gone.test/page"
    assert check.archived_url_found == expected
    source.refresh_from_db()
    assert source.archived_url == expected
    assert calls[1] == (
        "https://archive.org/wayback/available?url=https%3A%2F%2Fgone.test%2Fpage",
        "GET",
    )


@pytest.mark.django_db
def test_archive_lookup_keeps_an_existing_archived_url(techmap_settings):
    techmap_settings(ARCHIVE_LOOKUP=True)
    calls = []
    source = make_source("https://gone.test/page", archived_url="https://archive.test/kept")
    check_source(source, fetcher=fake_fetcher(calls))
    source.refresh_from_db()
    assert source.archived_url == "https://archive.test/kept"
    assert len(calls) == 1


@pytest.mark.django_db
def test_archive_lookup_never_sends_a_refused_url_to_the_archive(techmap_settings):
    techmap_settings(ARCHIVE_LOOKUP=True)
    calls = []

    def refusing_fetcher(url, method="HEAD", **kwargs):
        calls.append(url)
        raise FetchRefused("refused: private address 10.0.0.1", url=url)

    check = check_source(make_source("http://intranet.test/"), fetcher=refusing_fetcher)
    assert check.refused and calls == ["http://intranet.test/"]


def test_archive_lookup_ignores_an_answer_that_is_not_an_http_url():
    assert find_archived_copy("https://gone.test/", fetcher=fake_fetcher([], "javascript:x")) == ""


def test_archive_lookup_goes_through_the_guarded_fetcher_by_default(no_sockets, monkeypatch):
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: addrinfo("10.1.1.1", port),
    )
    assert find_archived_copy("https://gone.test/") == ""
    assert no_sockets == []


# --- admin and command ----------------------------------------------------------------------


def test_source_checks_are_registered_read_only_in_the_admin(rf, admin_user):
    model_admin = admin.site._registry[SourceCheck]
    request = rf.get("/")
    request.user = admin_user
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert {"ok", "status_code"} <= set(model_admin.list_filter)


@pytest.mark.django_db
def test_admin_list_of_checks_filters_by_outcome(admin_client, base, allow_private):
    check_source(make_source(f"{base}/missing"))
    response = admin_client.get("/admin/sourcecheck/sourcecheck/?ok__exact=0")
    assert response.status_code == 200
    assert f"{base}/missing".encode() in response.content


@pytest.mark.django_db
def test_command_dry_run_contacts_nothing_and_writes_nothing(base, capsys, no_sockets):
    make_source(f"{base}/ok")
    call_command("sources", "check", "--dry-run", "--url-prefix", f"{base}/")
    out = capsys.readouterr().out
    assert f"would check {base}/ok" in out
    assert SourceCheck.objects.count() == 0 and Handler.hits == []


@pytest.mark.django_db
def test_command_lists_dead_links_and_each_check_when_verbose(base, allow_private, capsys):
    for path in ("/ok", "/missing"):
        make_source(f"{base}{path}")
    call_command("sources", "check", "-v", "2", "--url-prefix", f"{base}/")
    out = capsys.readouterr().out
    assert f"ok       200 {base}/ok" in out
    assert "Checked 2: 1 ok, 1 dead, 0 refused." in out
    assert f"Dead links:\n  {base}/missing  [dead: 404]" in out


@pytest.mark.django_db
def test_command_without_an_action_explains_itself():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="sources check"):
        call_command("sources")


# --- the real entry point -------------------------------------------------------------------


def techmap_env(data_dir: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TECHMAP_")}
    env["TECHMAP_DATA_DIR"] = str(data_dir)
    env["TECHMAP_DATABASE_URL"] = f"sqlite:///{data_dir / 'db.sqlite3'}"
    env.update(extra)
    return env


def run_techmap(*args, env):
    result = subprocess.run(
        [str(TECHMAP), *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"techmap {args}: {result.stdout}\n{result.stderr}"
    return result.stdout


def test_cli_checks_local_sources_records_checks_and_lists_dead_links(tmp_path, base):
    env = techmap_env(tmp_path, TECHMAP_SOURCE_CHECK_ALLOW_PRIVATE="true")
    run_techmap("init", env=env)
    create = "; ".join(
        f"Source.objects.create(url='{base}{path}', title='local {path}')"
        for path in ("/ok", "/missing", "/error")
    )
    run_techmap("shell", "-c", f"from techmap.catalog.models import Source; {create}", env=env)
    prefix = f"{base}/"

    out = run_techmap("sources", "check", "--limit", "2", "--url-prefix", prefix, env=env)
    assert "Checked 2: 1 ok, 1 dead, 0 refused." in out
    assert f"{base}/missing" in out and "Dead links:" in out

    out = run_techmap("sources", "check", "--limit", "2", "--url-prefix", prefix, env=env)
    assert "Checked 2:" in out
    assert f"{base}/error" in out  # the never-checked source came first

    con = sqlite3.connect(tmp_path / "db.sqlite3")
    rows = con.execute(
        "SELECT url, status_code, ok FROM sourcecheck_sourcecheck ORDER BY id"
    ).fetchall()
    con.close()
    assert len(rows) == 4
    assert {(url, status, bool(ok)) for url, status, ok in rows[:3]} == {
        (f"{base}/ok", 200, True),
        (f"{base}/missing", 404, False),
        (f"{base}/error", 500, False),
    }
    assert all(not path.startswith("/#") for _method, path, _host in Handler.hits)
    assert {host for _method, _path, host in Handler.hits} == {base.removeprefix("http://")}


def test_cli_refuses_local_sources_without_the_test_setting(tmp_path, base):
    env = techmap_env(tmp_path)
    run_techmap("init", "--empty", env=env)
    run_techmap(
        "shell",
        "-c",
        f"from techmap.catalog.models import Source; "
        f"Source.objects.create(url='{base}/ok', title='local')",
        env=env,
    )
    out = run_techmap("sources", "check", "--url-prefix", f"{base}/", env=env)
    assert "Checked 1: 0 ok, 0 dead, 1 refused." in out
    assert "loopback" in out
    assert Handler.hits == []


def test_cli_help_documents_the_check_options(tmp_path):
    out = run_techmap("sources", "check", "--help", env=techmap_env(tmp_path))
    for option in ("--limit", "--url-prefix", "--dry-run"):
        assert option in out
