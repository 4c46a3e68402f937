"""A guarded HTTP client for checking source links.

Every hop (the first URL and each redirect) is vetted by netguard: http(s) only, the host
resolved once and refused if any address is not public, and the socket opened to that
vetted address, never to the name again. The whole check of one URL, redirects and the
HEAD-then-GET fallback included, shares one deadline (SOURCE_CHECK_TIMEOUT), and at most
SOURCE_CHECK_MAX_BYTES of a body is read.
"""

from __future__ import annotations

import functools
import http.client
import io
import socket
import ssl
import time
import urllib.parse
from dataclasses import dataclass

from django.conf import settings

from techmap.sourcecheck.netguard import AddressRefused, Target, vet_url

MAX_REDIRECTS = 5
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
# Servers that answer HEAD badly; the check is repeated with GET.
HEAD_FALLBACK_STATUSES = {403, 405, 501}
USER_AGENT = "techmap-sourcecheck/0.1 (+link health check)"
CHUNK = 65536


class FetchError(Exception):
    """A URL could not be fetched: timeout, network or protocol error, too many redirects."""

    def __init__(self, message, *, url="", status_code=None, elapsed_ms=None):
        super().__init__(message)
        self.url = url
        self.status_code = status_code
        self.elapsed_ms = elapsed_ms


class FetchRefused(FetchError):
    """A URL was not fetched at all: its scheme or address is not allowed."""


@dataclass
class FetchResult:
    """The final answer to a fetch, after redirects."""

    url: str
    final_url: str
    status_code: int
    elapsed_ms: int
    body: bytes = b""
    truncated: bool = False
    redirects: int = 0


def open_connection(ip: str, port: int, timeout: float) -> socket.socket:
    """Open a TCP connection to a vetted IP address (the one place a socket is opened)."""
    return socket.create_connection((ip, port), timeout=timeout)


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("timed out")
    return remaining


class _DeadlineReader(io.RawIOBase):
    """Socket reads that stop at the deadline, so a server trickling bytes cannot stall us.

    It wraps the response's own socket file, which keeps the socket open after
    http.client closes the connection object (as it does for "Connection: close").
    """

    def __init__(self, sock, raw, deadline: float):
        self._sock = sock
        self._raw = raw
        self._deadline = deadline

    def readable(self):
        return True

    def readinto(self, buffer):
        self._sock.settimeout(_remaining(self._deadline))
        return self._raw.readinto(buffer)

    def close(self):
        self._raw.close()
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock, debuglevel=0, method=None, url=None, *, deadline):
        super().__init__(sock, debuglevel, method, url)
        self.fp = io.BufferedReader(_DeadlineReader(sock, self.fp.detach(), deadline))


class VettedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a vetted IP address that still names the host in Host:."""

    def __init__(self, target: Target, deadline: float):
        super().__init__(target.host, target.port, timeout=_remaining(deadline))
        self.vetted_ip = target.ip
        self.deadline = deadline
        self.response_class = functools.partial(_DeadlineResponse, deadline=deadline)

    def connect(self):
        self.sock = open_connection(self.vetted_ip, self.port, _remaining(self.deadline))


class VettedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to a vetted IP address; SNI and the certificate use the host name."""

    def __init__(self, target: Target, deadline: float):
        super().__init__(
            target.host,
            target.port,
            timeout=_remaining(deadline),
            context=ssl.create_default_context(),
        )
        self.vetted_ip = target.ip
        self.deadline = deadline
        self.response_class = functools.partial(_DeadlineResponse, deadline=deadline)

    def connect(self):
        sock = open_connection(self.vetted_ip, self.port, _remaining(self.deadline))
        try:
            sock.settimeout(_remaining(self.deadline))
            self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _request(target: Target, method: str, deadline: float, max_bytes: int):
    """One request to a vetted target: (status, Location header, body up to max_bytes, cut)."""
    factory = VettedHTTPSConnection if target.scheme == "https" else VettedHTTPConnection
    conn = factory(target, deadline)
    try:
        conn.request(
            method,
            target.path,
            headers={"User-Agent": USER_AGENT, "Accept": "*/*", "Connection": "close"},
        )
        response = conn.getresponse()
        location = response.getheader("Location", "")
        body, truncated = b"", False
        if method == "GET" and response.status not in REDIRECT_STATUSES:
            parts, size = [], 0
            while size < max_bytes:
                chunk = response.read(min(CHUNK, max_bytes - size))
                if not chunk:
                    break
                parts.append(chunk)
                size += len(chunk)
            body = b"".join(parts)
            truncated = size >= max_bytes and not response.isclosed()
        return response.status, location, body, truncated
    finally:
        conn.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {getattr(exc, 'reason', None) or exc}"
    if isinstance(exc, http.client.HTTPException):
        return f"bad HTTP response: {type(exc).__name__}"
    return f"network error: {exc}"


def fetch(
    url: str,
    method: str = "HEAD",
    *,
    timeout: float | None = None,
    max_bytes: int | None = None,
    allow_private: bool | None = None,
) -> FetchResult:
    """Fetch url through the guard, following up to 5 redirects; raise FetchError on failure.

    Settings give the defaults: SOURCE_CHECK_TIMEOUT, SOURCE_CHECK_MAX_BYTES and
    SOURCE_CHECK_ALLOW_PRIVATE. HEAD answered with 403, 405 or 501 is retried as GET.
    """
    conf = settings.TECHMAP
    timeout = conf["SOURCE_CHECK_TIMEOUT"] if timeout is None else timeout
    max_bytes = conf["SOURCE_CHECK_MAX_BYTES"] if max_bytes is None else max_bytes
    allow_private = conf["SOURCE_CHECK_ALLOW_PRIVATE"] if allow_private is None else allow_private
    started = time.monotonic()
    deadline = started + float(timeout)

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    current, status = url, None
    for hop in range(MAX_REDIRECTS + 1):
        try:
            target = vet_url(current, allow_private=allow_private)
        except AddressRefused as exc:
            raise FetchRefused(
                f"refused: {exc}", url=current, status_code=status, elapsed_ms=elapsed_ms()
            ) from None
        except OSError as exc:
            raise FetchError(str(exc), url=current, elapsed_ms=elapsed_ms()) from None
        try:
            status, location, body, truncated = _request(target, method, deadline, max_bytes)
            if method == "HEAD" and status in HEAD_FALLBACK_STATUSES:
                status, location, body, truncated = _request(target, "GET", deadline, max_bytes)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise FetchError(
                _describe(exc), url=current, status_code=None, elapsed_ms=elapsed_ms()
            ) from None
        if status in REDIRECT_STATUSES and location:
            if hop == MAX_REDIRECTS:
                break
            current = urllib.parse.urljoin(current, location.strip())
            if len(current) > 2000:
                raise FetchError(
                    "redirect to an overlong URL",
                    url=current[:2000],
                    status_code=status,
                    elapsed_ms=elapsed_ms(),
                )
            continue
        return FetchResult(
            url=url,
            final_url=current,
            status_code=status,
            elapsed_ms=elapsed_ms(),
            body=body,
            truncated=truncated,
            redirects=hop,
        )
    raise FetchError(
        f"more than {MAX_REDIRECTS} redirects",
        url=current,
        status_code=status,
        elapsed_ms=elapsed_ms(),
    )
