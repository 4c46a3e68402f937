"""Source health: the guarded fetcher, the address guard, recorded checks and the CLI.

Everything runs against a local HTTP server started here; nothing contacts the internet.
The address guard is relaxed (SOURCE_CHECK_ALLOW_PRIVATE) only through explicit overrides.
Tests that need a "public" host use a fake resolver that maps test names to public
addresses and a fake connection factory that routes those addresses to the local server,
recording every address a connection was opened to.
"""

import ipaddress
import json
import os
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.management import call_command

from techmap.catalog.models import Source
from techmap.sourcecheck import fetch as fetch_module
from techmap.sourcecheck.checks import (
    check_source,
    check_sources,
    dead_sources,
    find_archived_copy,
    sources_to_check,
)
from techmap.sourcecheck.fetch import FetchError, FetchRefused, FetchResult, fetch
from techmap.sourcecheck.models import SourceCheck
from techmap.sourcecheck.netguard import forbidden_reason, is_forbidden_address, vet_url

TECHMAP = Path(sys.executable).parent / "techmap"
PUBLIC_IP = "93.184.216.34"  # only ever classified or routed to the local server
REAL_GETADDRINFO = socket.getaddrinfo
REAL_CREATE_CONNECTION = socket.create_connection


# --- the local test server ------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    hits: list = []  # (method, path, Host header), shared by every request

    def log_message(self, *args):
        pass

    def _record(self):
        type(self).hits.append((self.command, self.path, self.headers.get("Host")))

    def _answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self._record()
        if self.path in ("/head-405", "/endless"):
            return self._answer(405)
        self._route()

    def do_GET(self):
        self._record()
        self._route()

    def _route(self):
        path = self.path
        if path == "/ok":
            return self._answer(200, b"hello")
        if path == "/head-405":
            return self._answer(200, b"GET works")
        if path == "/missing":
            return self._answer(404, b"not found")
        if path == "/error":
            return self._answer(500, b"boom")
        if path == "/host":
            return self._answer(200, (self.headers.get("Host") or "").encode())
        if path.startswith("/redirect/"):
            left = int(path.rsplit("/", 1)[1])
            target = "/ok" if left <= 1 else f"/redirect/{left - 1}"
            return self._answer(302, headers=[("Location", target)])
        if path == "/loop":
            return self._answer(302, headers=[("Location", "/loop")])
        if path == "/to-metadata":
            location = "http://169.254.169.254/latest/meta-data"
            return self._answer(302, headers=[("Location", location)])
        if path == "/to-private":
            return self._answer(301, headers=[("Location", "http://10.0.0.1/")])
        if path == "/to-internal-name":
            return self._answer(302, headers=[("Location", "http://internal.test/admin")])
        if path == "/to-ftp":
            return self._answer(302, headers=[("Location", "ftp://files.test/x")])
        if path == "/endless":
            return self._endless()
        if path == "/slow":
            time.sleep(3)
            return self._answer(200, b"late")
        if path == "/trickle":
            return self._trickle()
        return self._answer(404)

    def _endless(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        chunk = b"x" * 65536
        try:
            for _ in range(2000):  # 128 MB at most, far beyond any cap used here
                self.wfile.write(chunk)
        except OSError:
            pass

    def _trickle(self):
        # Each byte arrives well within the read timeout, but the whole body takes 5 s.
        self.send_response(200)
        self.send_header("Content-Length", "25")
        self.end_headers()
        try:
            for _ in range(25):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def base(server):
    """The local server's base URL; its hit list starts empty in every test."""
    Handler.hits.clear()
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def techmap_settings(settings):
    """Change TECHMAP settings for one test: techmap_settings(NAME=value, ...)."""

    def apply(**values):
        settings.TECHMAP = {**settings.TECHMAP, **values}

    return apply


@pytest.fixture
def allow_private(techmap_settings):
    """The explicit test-only override that lets the checker reach the local server."""
    techmap_settings(SOURCE_CHECK_ALLOW_PRIVATE=True)


@pytest.fixture
def no_sockets(monkeypatch):
    """Fail the test if any connection is attempted; returns the attempted addresses."""
    attempts = []

    def refuse(address, *args, **kwargs):
        attempts.append(address)
        raise AssertionError(f"a connection to {address} was attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


class FakeInternet:
    """Test host names resolving to chosen addresses; public ones routed to the local server."""

    def __init__(self, server_port):
        self.server_port = server_port
        self.names = {}
        self.lookups = []
        self.connections = []

    def getaddrinfo(self, host, port, *args, **kwargs):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            self.lookups.append(host)
            if host not in self.names:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
            answers = self.names[host]
            addresses = answers.pop(0) if answers and isinstance(answers[0], list) else answers
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, port),
                )
                for a in addresses
            ]
        return REAL_GETADDRINFO(host, port, *args, **kwargs)

    def open_connection(self, ip, port, timeout):
        self.connections.append(ip)
        if ip == PUBLIC_IP:
            return REAL_CREATE_CONNECTION(("127.0.0.1", self.server_port), timeout=timeout)
        raise AssertionError(f"connection to unvetted address {ip}")


@pytest.fixture
def internet(server, base, monkeypatch):
    net = FakeInternet(server.server_address[1])
    monkeypatch.setattr(socket, "getaddrinfo", net.getaddrinfo)
    monkeypatch.setattr(fetch_module, "open_connection", net.open_connection)
    return net


def addrinfo(address, port):
    """What socket.getaddrinfo answers for one IPv4 address."""
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]


def make_source(url, **fields):
    return Source.objects.create(url=url, title=fields.pop("title", url), **fields)


# --- the address guard ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "10.0.0.1",
        "10.255.1.2",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.1",
        "169.254.169.254",
        "224.0.0.1",
        "239.255.255.250",
        "0.0.0.0",
        "255.255.255.255",
        "240.0.0.1",
        "100.64.0.1",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::127.0.0.1",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "2002:7f00:1::",
        "2002:a00:1::",
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
        "2001:db8::1",
    ],
)
def test_address_guard_refuses_non_public_addresses(address):
    assert is_forbidden_address(address)
    assert forbidden_reason(address)


@pytest.mark.parametrize(
    "address", [PUBLIC_IP, "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946", "::ffff:8.8.8.8"]
)
def test_address_guard_accepts_public_addresses(address):
    assert not is_forbidden_address(address)


@pytest.mark.parametrize(
    "address, kind",
    [
        ("127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("10.0.0.1", "private"),
    ],
)
def test_address_guard_names_the_kind_of_address(address, kind):
    assert forbidden_reason(address).startswith(kind)


def test_address_guard_refuses_text_that_is_not_an_address():
    assert is_forbidden_address("localhost")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/file",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "gopher://example.org/",
        "data:text/html,<script>alert(1)</script>",
        "//example.org/no-scheme",
        "http:///no-host",
        "http://example.org:99999/bad-port",
    ],
)
def test_other_schemes_and_malformed_urls_are_refused_without_any_lookup(url, monkeypatch):
    lookups = []
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: lookups.append(a) or [])
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: lookups.append(a))
    with pytest.raises(FetchRefused):
        fetch(url, allow_private=True)
    assert lookups == []


def test_a_name_is_refused_when_any_of_its_addresses_is_private(internet, no_sockets):
    internet.names["mixed.test"] = [PUBLIC_IP, "10.0.0.7"]
    with pytest.raises(FetchRefused, match="10.0.0.7"):
        fetch("http://mixed.test/")
    assert no_sockets == [] and internet.connections == []


def test_vet_url_keeps_the_host_name_and_the_vetted_address(internet):
    internet.names["site.test"] = [PUBLIC_IP]
    target = vet_url("https://Site.test:8443/a/b?q=1")
    assert (target.scheme, target.host, target.port, target.ip, target.path) == (
        "https",
        "site.test",
        8443,
        PUBLIC_IP,
        "/a/b?q=1",
    )
    assert target.host_header == "site.test:8443"


# --- the guard is on by default -------------------------------------------------------------


def test_by_default_a_loopback_url_is_refused_and_the_server_gets_no_request(base, no_sockets):
    with pytest.raises(FetchRefused, match="loopback"):
        fetch(f"{base}/ok")
    assert Handler.hits == []
    assert no_sockets == []


def test_localhost_by_name_is_refused_by_default(server, base, no_sockets):
    with pytest.raises(FetchRefused):
        fetch(f"http://localhost:{server.server_address[1]}/ok")
    assert Handler.hits == []


@pytest.mark.django_db
def test_by_default_a_check_of_a_loopback_source_is_recorded_as_refused(base, no_sockets):
    source = make_source(f"{base}/ok")
    check = check_source(source)
    assert (check.ok, check.refused, check.status_code) == (False, True, None)
    assert "loopback" in check.error
    assert Handler.hits == []


def test_redirect_to_the_metadata_address_is_refused_without_connecting(internet):
    internet.names["site.test"] = [PUBLIC_IP]
    port = internet.server_port
    with pytest.raises(FetchRefused, match="169.254.169.254") as refused:
        fetch(f"http://site.test:{port}/to-metadata")
    assert refused.value.url == "http://169.254.169.254/latest/meta-data"
    assert refused.value.status_code == 302
    assert internet.connections == [PUBLIC_IP]
    assert [hit[1] for hit in Handler.hits] == ["/to-metadata"]


def test_redirect_to_a_private_address_is_refused_without_connecting(internet):
    internet.names["site.test"] = [PUBLIC_IP]
    with pytest.raises(FetchRefused, match="10.0.0.1"):
        fetch(f"http://site.test:{internet.server_port}/to-private")
    assert internet.connections == [PUBLIC_IP]


def test_redirect_to_a_name_resolving_to_a_private_address_is_refused(internet):
    internet.names["site.test"] = [PUBLIC_IP]
    internet.names["internal.test"] = ["192.168.0.10"]
    with pytest.raises(FetchRefused, match="192.168.0.10"):
        fetch(f"http://site.test:{internet.server_port}/to-internal-name")
    assert internet.connections == [PUBLIC_IP]


def test_redirect_to_another_scheme_is_refused(internet):
    internet.names["site.test"] = [PUBLIC_IP]
    with pytest.raises(FetchRefused, match="ftp"):
        fetch(f"http://site.test:{internet.server_port}/to-ftp")
    assert "files.test" not in internet.lookups


def test_redirect_to_private_address_is_refused_even_with_a_check_recorded(internet, db):
    internet.names["site.test"] = [PUBLIC_IP]
    source = make_source(f"http://site.test:{internet.server_port}/to-metadata")
    check = check_source(source)
    assert (check.ok, check.refused) == (False, True)
    assert check.final_url == "http://169.254.169.254/latest/meta-data"
    assert dead_sources() == [(source, check)]


def test_dns_rebinding_connects_to_the_address_that_was_vetted(monkeypatch):
    lookups, connections = [], []
    answers = [PUBLIC_IP, "127.0.0.1"]

    def rebinding_getaddrinfo(host, port, *args, **kwargs):
        lookups.append(host)
        address = answers.pop(0) if answers else "127.0.0.1"
        return addrinfo(address, port)

    def record_connection(address, timeout=None, *args, **kwargs):
        connections.append(address)
        raise ConnectionRefusedError("not really connecting")

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", record_connection)
    with pytest.raises(FetchError, match="network error"):
        fetch("http://rebind.test/page")
    assert lookups == ["rebind.test"]  # resolved once...
    assert connections == [(PUBLIC_IP, 80)]  # ...and connected to that very address


def test_dns_rebinding_after_a_redirect_is_caught_at_the_next_hop(internet):
    # The second lookup of the same name (on redirect) answers loopback: refused.
    internet.names["site.test"] = [[PUBLIC_IP], ["127.0.0.1"]]
    with pytest.raises(FetchRefused, match="loopback"):
        fetch(f"http://site.test:{internet.server_port}/redirect/2")
    assert internet.connections == [PUBLIC_IP]
    assert internet.lookups == ["site.test", "site.test"]


def test_connection_to_the_vetted_address_sends_the_original_host_header(internet):
    internet.names["site.test"] = [PUBLIC_IP]
    result = fetch(f"http://site.test:{internet.server_port}/host", method="GET")
    assert result.body == f"site.test:{internet.server_port}".encode()
    assert internet.connections == [PUBLIC_IP]


def test_https_wraps_the_vetted_socket_with_sni_and_certificate_checks(monkeypatch):
    connections, wraps = [], []
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: addrinfo(PUBLIC_IP, port),
    )

    def fake_connection(address, timeout=None, *args, **kwargs):
        connections.append(address)
        return socket.socketpair()[0]

    def fake_wrap(context, sock, server_hostname=None, **kwargs):
        wraps.append((server_hostname, context.verify_mode, context.check_hostname))
        sock.close()
        raise ssl.SSLError("handshake refused by test")

    monkeypatch.setattr(socket, "create_connection", fake_connection)
    monkeypatch.setattr(ssl.SSLContext, "wrap_socket", fake_wrap)
    with pytest.raises(FetchError, match="TLS error"):
        fetch("https://secure.test/report.pdf")
    assert connections == [(PUBLIC_IP, 443)]
    assert wraps == [("secure.test", ssl.CERT_REQUIRED, True)]


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """A local HTTPS server with a certificate for secure.test only (skipped without openssl)."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=secure.test"]
        + ["-addext", "subjectAltName=DNS:secure.test"],
        check=True,
        capture_output=True,
    )
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, cert
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def tls_internet(tls_server, monkeypatch):
    """secure.test and other.test resolve to a public address routed to the HTTPS server."""
    httpd, cert = tls_server
    net = FakeInternet(httpd.server_address[1])
    net.names.update({"secure.test": [PUBLIC_IP], "other.test": [PUBLIC_IP]})
    monkeypatch.setattr(socket, "getaddrinfo", net.getaddrinfo)
    monkeypatch.setattr(fetch_module, "open_connection", net.open_connection)
    real = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda: real(cafile=str(cert)))
    Handler.hits.clear()
    return net


def test_https_through_the_vetted_address_verifies_the_certificate_name(tls_internet):
    port = tls_internet.server_port
    result = fetch(f"https://secure.test:{port}/host", method="GET")
    assert (result.status_code, result.body) == (200, f"secure.test:{port}".encode())
    assert tls_internet.connections == [PUBLIC_IP]


def test_https_with_a_certificate_for_another_name_fails(tls_internet):
    with pytest.raises(FetchError, match="TLS error"):
        fetch(f"https://other.test:{tls_internet.server_port}/ok")
    assert Handler.hits == []


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
