"""Fixtures of the source-check tests: the local server and the guard overrides."""

import socket
import threading
from http.server import ThreadingHTTPServer

import pytest

from techmap.sourcecheck import fetch as fetch_module
from tests.sourcecheck.support import FakeInternet, Handler


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


@pytest.fixture
def internet(server, base, monkeypatch):
    net = FakeInternet(server.server_address[1])
    monkeypatch.setattr(socket, "getaddrinfo", net.getaddrinfo)
    monkeypatch.setattr(fetch_module, "open_connection", net.open_connection)
    return net
