"""Who is submitting, known only as much as abuse control needs.

The client address is worked out once (`client_address`), stored only as a keyed
HMAC-SHA256 (`hash_address`) whose key is derived from SECRET_KEY, and blanked after
ADDRESS_RETENTION_DAYS by `purge_expired` (`techmap purge`).
"""

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from techmap.contributions.models import RateLimitHit, Submission
from techmap.contributions.ratelimit import parse_rate

# Changing this label invalidates every stored hash (and every rate-limit counter).
_KEY_LABEL = b"techmap.contributions.address-hash.v1"
# Longest address string we keep hashing; longer header junk is cut here.
_MAX_ADDRESS_CHARS = 100


def _address_key() -> bytes:
    """The HMAC key: derived from SECRET_KEY, so it is never stored next to the hashes."""
    return hmac.new(settings.SECRET_KEY.encode(), _KEY_LABEL, hashlib.sha256).digest()


def hash_address(address: str) -> str:
    """Keyed HMAC-SHA256 of a client address, as 64 hex characters."""
    return hmac.new(_address_key(), address.encode(), hashlib.sha256).hexdigest()


def _normalise(address: str) -> str:
    address = address.strip()[:_MAX_ADDRESS_CHARS]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    # An IPv4 client seen through a dual-stack socket is still that IPv4 client.
    return str(getattr(ip, "ipv4_mapped", None) or ip)


def trusted_proxy_networks() -> list:
    """TRUSTED_PROXIES as networks; single addresses and CIDR ranges are both accepted."""
    networks = []
    for item in settings.TECHMAP["TRUSTED_PROXIES"].split(","):
        if item.strip():
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
    return networks


def _is_trusted(address: str, networks: list) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request) -> str:
    """The address of the client: REMOTE_ADDR, or the right-most untrusted X-Forwarded-For hop.

    X-Forwarded-For is believed only when the connection comes from a trusted proxy; the
    client can write anything on the left of the header, so we walk it from the right and
    stop at the first address that is not one of our proxies.
    """
    remote = _normalise(request.META.get("REMOTE_ADDR", ""))
    networks = trusted_proxy_networks()
    if not networks or not _is_trusted(remote, networks):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
        hop = _normalise(hop)
        if not _is_trusted(hop, networks):
            return hop
    return remote


def rate_limit_key(address: str) -> str:
    """The address as counted by the rate limit: IPv6 clients by their /64 network.

    One IPv6 customer usually holds a whole /64, so counting single addresses would let
    them take a fresh one for every submission.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and not ip.ipv4_mapped:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return _normalise(address)


@dataclass
class PurgeResult:
    addresses_blanked: int
    rate_limit_rows_deleted: int


def purge_expired(*, dry_run: bool = False, now=None) -> PurgeResult:
    """Blank address hashes older than ADDRESS_RETENTION_DAYS and delete finished rate windows."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.TECHMAP["ADDRESS_RETENTION_DAYS"])
    _, window_seconds = parse_rate(settings.TECHMAP["SUBMISSION_RATE_LIMIT"])
    # A missing hashed_at means we cannot tell the age: treat it as expired.
    old_hashes = Submission.objects.exclude(address_hash="").filter(
        Q(address_hashed_at__lt=cutoff) | Q(address_hashed_at__isnull=True)
    )
    finished_windows = RateLimitHit.objects.filter(
        window_start__lte=now - timedelta(seconds=window_seconds)
    )
    if dry_run:
        return PurgeResult(old_hashes.count(), finished_windows.count())
    with transaction.atomic():
        blanked = old_hashes.update(address_hash="", address_hashed_at=None)
        deleted, _ = finished_windows.delete()
    return PurgeResult(blanked, deleted)
