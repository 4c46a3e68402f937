"""Which URLs and addresses the source checker may contact.

Only http and https, and only public addresses: a host name is resolved once, every
address it resolves to is vetted, and the caller connects to a vetted address itself,
so a second (rebinding) lookup can never redirect the connection to an internal host.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse
from dataclasses import dataclass

ALLOWED_SCHEMES = {"http", "https"}
DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 6052 well-known prefix and RFC 8215 local-use prefix: the last 32 bits are IPv4.
NAT64_NETWORKS = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
)
# Most specific first, so the message names the kind a reader recognises.
FORBIDDEN_KINDS = ("loopback", "link_local", "multicast", "unspecified", "private", "reserved")


class AddressRefused(Exception):
    """A URL or address the source checker must not contact."""


@dataclass(frozen=True)
class Target:
    """A vetted URL: where to connect (ip, port) and what to call the host (Host, SNI)."""

    scheme: str
    host: str
    port: int
    ip: str
    path: str
    url: str

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def _addresses_to_judge(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list:
    """The address itself and every IPv4 address it stands for.

    An IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::a.b.c.d) address is only a way of
    reaching its IPv4 address, so that IPv4 address alone is judged (the IPv6 wrapper is
    formally "reserved" even around a public address). 6to4 and Teredo addresses are
    judged both as themselves and by the IPv4 addresses they embed.
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return [ip]
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if any(ip in net for net in NAT64_NETWORKS):
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    found = [ip]
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def forbidden_reason(address: str) -> str:
    """Why the address is not a public unicast address, or "" when it may be contacted."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"not an IP address: {address!r}"
    for candidate in _addresses_to_judge(ip):
        for name in FORBIDDEN_KINDS:
            if getattr(candidate, f"is_{name}"):
                return f"{name.replace('_', '-')} address {address}"
        if not candidate.is_global:  # e.g. 100.64.0.0/10, the carrier-grade NAT range
            return f"non-public address {address}"
    return ""


def is_forbidden_address(address: str) -> bool:
    """True for loopback, private, link-local, multicast, reserved and unspecified addresses."""
    return bool(forbidden_reason(address))


def split_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, ASCII host, port, path with query) of an http(s) URL, or AddressRefused."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise AddressRefused(f"malformed URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise AddressRefused(f"scheme {scheme or '(none)'!r} is not http or https")
    host = parts.hostname or ""
    if not host:
        raise AddressRefused("URL has no host")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise AddressRefused(f"host name {host!r} cannot be encoded") from None
    if any(ch in host for ch in "\r\n\t /\\") or not host:
        raise AddressRefused(f"invalid host name {host!r}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    if any(ord(ch) < 33 or ord(ch) >= 127 for ch in path):  # http.client sends ASCII only
        path = urllib.parse.quote(path, safe="/?&=%:@!$'()*+,;~-._")
    return scheme, host, port or DEFAULT_PORTS[scheme], path


def resolve(host: str, port: int) -> list[str]:
    """Every address host resolves to, in the resolver's order, from one lookup."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise OSError(f"cannot resolve {host}: {exc}") from exc
    addresses = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    if not addresses:
        raise OSError(f"cannot resolve {host}: no addresses")
    return addresses


def vet_url(url: str, allow_private: bool = False) -> Target:
    """Check url's scheme and resolve its host once; refuse if any address is not public.

    Raises AddressRefused (never contacting anything) or OSError (the name does not resolve).
    """
    scheme, host, port, path = split_url(url)
    addresses = resolve(host, port)
    if not allow_private:
        for address in addresses:
            reason = forbidden_reason(address)
            if reason:
                raise AddressRefused(f"{host} resolves to a {reason}")
    return Target(scheme=scheme, host=host, port=port, ip=addresses[0], path=path, url=url)
