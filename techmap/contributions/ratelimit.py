"""A per-address submission limit counted in the database, so all server processes share it.

Fixed windows of SUBMISSION_RATE_LIMIT = "COUNT/SECONDS": each (address hash, window)
pair is one RateLimitHit row. A hit is taken with one conditional UPDATE
(`count = count + 1 WHERE count < COUNT`), which the database serialises per row, so
two processes can never both take the last slot. A fixed window can let up to 2 × COUNT
through around a window boundary; that is accepted for its simplicity.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from techmap.contributions.models import RateLimitHit


def parse_rate(text: str) -> tuple[int, int]:
    """'5/3600' → (5, 3600); anything else is a configuration error."""
    try:
        count, seconds = (int(part) for part in text.split("/"))
    except ValueError:
        raise ImproperlyConfigured(
            f"TECHMAP_SUBMISSION_RATE_LIMIT must look like COUNT/SECONDS, e.g. 5/3600; got {text!r}"
        ) from None
    if count < 1 or seconds < 1:
        raise ImproperlyConfigured("TECHMAP_SUBMISSION_RATE_LIMIT needs COUNT ≥ 1 and SECONDS ≥ 1.")
    return count, seconds


@dataclass(frozen=True)
class Window:
    key_hash: str
    start: datetime
    limit: int
    seconds: int

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until this window ends (at least 1), for the Retry-After header."""
        end = self.start + timedelta(seconds=self.seconds)
        return max(1, math.ceil((end - now).total_seconds()))


def current_window(key_hash: str, now: datetime | None = None) -> Window:
    """The fixed window that contains now, for one hashed address."""
    limit, seconds = parse_rate(settings.TECHMAP["SUBMISSION_RATE_LIMIT"])
    now = now or timezone.now()
    epoch = int(now.timestamp())
    start = datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)
    return Window(key_hash, start, limit, seconds)


def is_exhausted(window: Window) -> bool:
    """True when the window has no slot left (reads only; `take` is what counts)."""
    return RateLimitHit.objects.filter(
        key_hash=window.key_hash, window_start=window.start, count__gte=window.limit
    ).exists()


def take(window: Window) -> bool:
    """Take one slot of the window atomically; False when none is left."""
    slot = RateLimitHit.objects.filter(
        key_hash=window.key_hash, window_start=window.start, count__lt=window.limit
    )
    if slot.update(count=F("count") + 1):
        return True
    if RateLimitHit.objects.filter(key_hash=window.key_hash, window_start=window.start).exists():
        return False
    try:
        with transaction.atomic():
            RateLimitHit.objects.create(
                key_hash=window.key_hash, window_start=window.start, count=1
            )
        return True
    except IntegrityError:
        # Another process created the row between our two statements: count on it.
        return bool(slot.update(count=F("count") + 1))
