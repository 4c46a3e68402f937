"""Checking source URLs and reading the results: plain functions the CLI and pages call."""

from __future__ import annotations

import json
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import models
from django.utils import timezone

from techmap.catalog.models import Source
from techmap.sourcecheck.fetch import FetchError, FetchRefused, FetchResult, fetch
from techmap.sourcecheck.models import SourceCheck

WAYBACK_AVAILABILITY_API = "https://archive.org/wayback/available"

Fetcher = Callable[..., FetchResult]


def dead_sources(limit: int | None = None) -> list[tuple[Source, SourceCheck]]:
    """(source, latest check) for every source whose most recent check failed, newest first.

    A source counts as dead while its latest check is not ok (an error status, a timeout,
    a network error, or a refused address or scheme); one good check later clears it, and
    so does editing the source's URL (the failed check was of the old address).
    """
    checks = (
        SourceCheck.objects.latest_per_source()
        .dead()
        .filter(url=models.F("source__url"))
        .select_related("source")
        .order_by("-checked_at", "-id")
    )
    if limit is not None:
        checks = checks[:limit]
    return [(check.source, check) for check in checks]


def sources_to_check(limit: int | None = None, url_prefix: str = ""):
    """Sources with an http(s) URL, never-checked first, then least recently checked."""
    sources = (
        Source.objects.filter(
            models.Q(url__istartswith="http://") | models.Q(url__istartswith="https://")
        )
        .annotate(last_checked=models.Max("checks__checked_at"))
        .order_by(models.F("last_checked").asc(nulls_first=True), "pk")
    )
    if url_prefix:
        sources = sources.filter(url__startswith=url_prefix)
    if limit is not None:
        sources = sources[:limit]
    return sources


def check_source(source: Source, fetcher: Fetcher = fetch) -> SourceCheck:
    """Fetch one source's URL, record the check and return it."""
    checked_at = timezone.now()
    try:
        result = fetcher(source.url)
    except FetchError as exc:
        check = SourceCheck(
            source=source,
            checked_at=checked_at,
            url=source.url[:2000],
            status_code=exc.status_code,
            final_url=(exc.url or "")[:2000],
            ok=False,
            refused=isinstance(exc, FetchRefused),
            error=str(exc)[:300],
            elapsed_ms=exc.elapsed_ms,
        )
    else:
        check = SourceCheck(
            source=source,
            checked_at=checked_at,
            url=source.url[:2000],
            status_code=result.status_code,
            final_url=result.final_url[:2000],
            ok=200 <= result.status_code < 400,
            elapsed_ms=result.elapsed_ms,
        )
    # A refused URL (e.g. an internal address) is never sent to the third-party archive.
    if settings.TECHMAP["ARCHIVE_LOOKUP"] and not source.archived_url and not check.refused:
        archived = find_archived_copy(source.url, fetcher=fetcher)
        if archived:
            check.archived_url_found = archived
            source.archived_url = archived
            source.save(update_fields=["archived_url"])
    check.save()
    return check


def find_archived_copy(url: str, fetcher: Fetcher = fetch) -> str:
    """The Wayback Machine's closest copy of url, or "" (asked through the guarded fetcher)."""
    query = urllib.parse.urlencode({"url": url})
    try:
        result = fetcher(f"{WAYBACK_AVAILABILITY_API}?{query}", method="GET")
        data = json.loads(result.body.decode("utf-8"))
        closest = data["archived_snapshots"]["closest"]
        archived = str(closest["url"]) if closest.get("available") else ""
    except (FetchError, ValueError, KeyError, TypeError, AttributeError):
        return ""
    if archived.startswith("http://"):
        archived = "https://" + archived[len("http://") :]
    if not archived.startswith("https://") or len(archived) > 2000:
        return ""
    return archived


@dataclass
class CheckSummary:
    """What one run of `techmap sources check` did."""

    checks: list[SourceCheck] = field(default_factory=list)

    @property
    def counts(self) -> Counter:
        counts = Counter(check.outcome for check in self.checks)
        counts["checked"] = len(self.checks)
        return counts

    @property
    def failed(self) -> list[SourceCheck]:
        return [check for check in self.checks if not check.ok]


def check_sources(
    limit: int | None = None,
    url_prefix: str = "",
    fetcher: Fetcher = fetch,
    on_check: Callable[[SourceCheck], None] | None = None,
) -> CheckSummary:
    """Check up to limit sources, least recently checked first, recording each check."""
    summary = CheckSummary()
    for source in sources_to_check(limit=limit, url_prefix=url_prefix):
        check = check_source(source, fetcher=fetcher)
        summary.checks.append(check)
        if on_check:
            on_check(check)
    return summary
