"""The local HTTP server, fake resolver and helpers the source-check tests share.

Nothing here contacts the internet: "public" test hosts resolve through FakeInternet to
the local server.
"""

import ipaddress
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from techmap.catalog.models import Source

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


def addrinfo(address, port):
    """What socket.getaddrinfo answers for one IPv4 address."""
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]


def make_source(url, **fields):
    return Source.objects.create(url=url, title=fields.pop("title", url), **fields)
