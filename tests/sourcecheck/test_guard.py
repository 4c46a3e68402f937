"""Source health: the address guard, redirects, DNS rebinding and TLS.

Everything runs against a local HTTP server started here; nothing contacts the internet.
The address guard is relaxed (SOURCE_CHECK_ALLOW_PRIVATE) only through explicit overrides.
Tests that need a "public" host use a fake resolver that maps test names to public
addresses and a fake connection factory that routes those addresses to the local server,
recording every address a connection was opened to.
"""

import shutil
import socket
import ssl
import subprocess
import threading
from http.server import ThreadingHTTPServer

import pytest

from techmap.sourcecheck import fetch as fetch_module
from techmap.sourcecheck.checks import (
    check_source,
    dead_sources,
)
from techmap.sourcecheck.fetch import FetchError, FetchRefused, fetch
from techmap.sourcecheck.netguard import forbidden_reason, is_forbidden_address, vet_url
from tests.sourcecheck.support import PUBLIC_IP, FakeInternet, Handler, addrinfo, make_source

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
