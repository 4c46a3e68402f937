"""What an editor can do with a submission: plain functions, each one transaction.

Every action first locks the submission and checks it is still pending, so a form
sent twice (or by two editors at once) changes nothing the second time and raises
AlreadyReviewed instead of creating a second entry.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from techmap.catalog import gazetteer
from techmap.catalog.history import change_reason
from techmap.catalog.models import Company, Entry, EntrySource, Source
from techmap.contributions.duplicates import submission_company_id
from techmap.contributions.models import Submission

PUBLIC_ID_MAX = 80
ACCEPT_FIELDS = ("title", "category", "company", "country", "city", "description")
CHANGE_REASON_ACCEPTED = "Published from a public submission"
CHANGE_REASON_MERGED = "Sources added from a public submission"


class ModerationError(Exception):
    """An action that cannot be done; the message is shown to the editor as is."""


class AlreadyReviewed(ModerationError):
    """The submission was reviewed already (a repeated form, or another editor)."""

    def __init__(self, submission: Submission):
        self.submission = submission
        super().__init__(
            f"Submission {submission.code} was already reviewed "
            f"({submission.get_status_display().lower()}); nothing was changed."
        )


def _lock_pending(submission: Submission) -> Submission:
    """Reload the submission in place under a row lock; raise AlreadyReviewed unless pending."""
    submission.refresh_from_db(from_queryset=Submission.objects.select_for_update())
    if submission.status != Submission.Status.PENDING:
        raise AlreadyReviewed(submission)
    return submission


def _mark_reviewed(submission: Submission, editor, status: str, reason: str = "", **fields):
    submission.status = status
    submission.reviewed_by = editor
    submission.reviewed_at = timezone.now()
    submission.review_reason = reason
    for name, value in fields.items():
        setattr(submission, name, value)
    submission.save()


def _as_editor(obj, editor):
    """Attribute obj's next history row to the editor, also outside a request."""
    if editor is not None:
        obj._history_user = editor
    return obj


def unique_public_id(*parts: str) -> str:
    """A free public id made of the parts, e.g. 'ke-huawei-nairobi-innovation-centre'."""
    base = slugify(" ".join(p for p in parts if p)).replace("_", "-")
    base = re.sub(r"-{2,}", "-", base).strip("-")[: PUBLIC_ID_MAX - 4].strip("-") or "entry"
    candidate, n = base, 2
    while Entry.objects.filter(public_id=candidate).exists():
        candidate = f"{base}-{n}"
        n += 1
    return candidate


def _unique_company_slug(name: str) -> str:
    base = (slugify(name).replace("_", "-").strip("-") or "company")[:70]
    candidate, n = base, 2
    while Company.objects.filter(slug=candidate).exists():
        candidate = f"{base}-{n}"
        n += 1
    return candidate


def company_for(submission: Submission, editor) -> Company:
    """The submission's company: chosen, found by the typed name, or created from it.

    Creating a company is taxonomy work, so only a user with catalog.add_company may.
    """
    company_id = submission_company_id(submission)
    if company_id:
        return Company.objects.get(pk=company_id)
    name = submission.other_company_name.strip()
    if not name:
        raise ModerationError("Choose a company: the submission names none.")
    if editor is None or not editor.has_perm("catalog.add_company"):
        raise ModerationError(
            f"The company {name[:80]!r} is not in the catalog: choose a company, "
            "or ask an admin to add it first."
        )
    return Company.objects.create(name=name, slug=_unique_company_slug(name))


def place_of(country, city: str, latitude, longitude) -> tuple[float | None, float | None, str]:
    """(latitude, longitude, precision): the given point, else the city, else the country."""
    if latitude is not None and longitude is not None:
        return latitude, longitude, Entry.Precision.EXACT
    if country is not None and city:
        point = gazetteer.city_point(city, country.iso2)
        if point:
            return point[0], point[1], Entry.Precision.CITY
    if country is not None:
        point = gazetteer.country_point(country.iso2)
        if point:
            return point[0], point[1], Entry.Precision.COUNTRY
    return None, None, Entry.Precision.NONE


def description_html(text: str) -> str:
    """Submitted text as paragraphs of HTML; text that is HTML already is kept (sanitised)."""
    text = (text or "").strip()
    if not text or text.startswith("<"):
        return text
    # Stored descriptions are sanitised already ('<' arrives as '&lt;'), so no escaping here.
    paragraphs = re.split(r"\n\s*\n", text)
    return "".join(
        "<p>" + "<br>".join(line.strip() for line in para.splitlines()) + "</p>"
        for para in paragraphs
        if para.strip()
    )


def source_title(url: str) -> str:
    """A readable title for a bare URL until an editor writes a better one."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    return f"Web page on {host}"[:500] if host else url[:500]


def source_for_url(url: str, editor=None) -> Source:
    """The existing source with this URL, or a new one titled after its host."""
    existing = Source.objects.filter(url=url).order_by("pk").first()
    if existing:
        return existing
    source = Source(url=url, title=source_title(url), access_date=timezone.localdate())
    try:
        source.full_clean(exclude=["key"])
    except ValidationError as exc:
        raise ModerationError(f"Source {url[:80]!r}: {'; '.join(exc.messages)}") from exc
    _as_editor(source, editor).save()
    return source


def add_sources(entry: Entry, urls, editor=None) -> list[Source]:
    """Cite each URL on the entry after its current sources; returns the sources newly added."""
    position = (entry.entry_sources.aggregate(m=Max("position"))["m"] or 0) + 1
    linked = set(entry.entry_sources.values_list("source_id", flat=True))
    added = []
    for url in urls:
        source = source_for_url(url, editor)
        if source.pk in linked:
            continue
        link = EntrySource(entry=entry, source=source, position=position)
        _as_editor(link, editor).save()
        linked.add(source.pk)
        added.append(source)
        position += 1
    return added


def _check_urls(urls) -> list[str]:
    clean = []
    for url in urls or []:
        url = str(url).strip()
        if not url.lower().startswith(("http://", "https://")):
            raise ModerationError(f"Not an http or https address: {url[:80]!r}.")
        if url not in clean:
            clean.append(url)
    return clean


@transaction.atomic
def accept_as_new_entry(submission: Submission, editor, **overrides) -> Entry:
    """Publish the submission as a new entry, cited by its URLs; overrides adjust the fields.

    Overrides: title, category, company (a Company), country, city, description.
    """
    unknown = set(overrides) - set(ACCEPT_FIELDS)
    if unknown:
        raise TypeError(f"accept_as_new_entry() got unknown fields: {', '.join(sorted(unknown))}")
    submission = _lock_pending(submission)
    urls = _check_urls(submission.source_urls)
    if not urls:
        raise ModerationError("The submission has no source URL; an entry needs a source.")
    company = overrides.get("company") or company_for(submission, editor)
    country = overrides.get("country", submission.country)
    city = overrides.get("city", submission.city).strip()
    title = overrides.get("title", submission.title).strip()
    # A point typed by the submitter stands for the submitted place; a changed place drops it.
    keep_point = country == submission.country and city == submission.city
    lat, lng, precision = place_of(
        country,
        city,
        submission.latitude if keep_point else None,
        submission.longitude if keep_point else None,
    )
    entry = Entry(
        public_id=unique_public_id(country.iso2 if country else "", company.slug, title),
        title=title,
        category=overrides.get("category", submission.category),
        country=country,
        city=city,
        latitude=lat,
        longitude=lng,
        precision=precision,
        year_started=submission.year_started,
        year_ended=submission.year_ended,
        description=description_html(overrides.get("description", submission.description)),
        status=Entry.Status.PUBLISHED,
    )
    try:
        entry.full_clean()
    except ValidationError as exc:
        raise ModerationError("; ".join(exc.messages)) from exc
    with change_reason(CHANGE_REASON_ACCEPTED):
        _as_editor(entry, editor).save()
        entry.companies.set([company])
        add_sources(entry, urls, editor)
    _mark_reviewed(submission, editor, Submission.Status.ACCEPTED, accepted_entry=entry)
    return entry


@transaction.atomic
def merge_into(submission: Submission, entry: Entry, editor) -> list[Source]:
    """Add the submission's URLs as sources of an existing entry; returns the sources added."""
    submission = _lock_pending(submission)
    # The caller's copy may be stale: write through a fresh, locked row so that no field
    # another editor saved meanwhile is overwritten.
    entry = Entry.objects.select_for_update().get(pk=entry.pk)
    if entry.status == Entry.Status.RETIRED:
        raise ModerationError(f"Entry {entry.public_id} is retired; merge into a live entry.")
    with change_reason(CHANGE_REASON_MERGED):
        added = add_sources(entry, _check_urls(submission.source_urls), editor)
        if added:  # the entry's updated time and version move with its sources
            _as_editor(entry, editor).save(update_fields=["updated"])
    _mark_reviewed(
        submission,
        editor,
        Submission.Status.ACCEPTED,
        reason=f"Merged into {entry.public_id}",
        accepted_entry=entry,
    )
    return added


def _required_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ModerationError("Give a reason for rejecting.")
    return reason


@transaction.atomic
def reject(submission: Submission, editor, reason: str) -> Submission:
    """Reject the submission with a reason (required); nothing public changes."""
    reason = _required_reason(reason)
    submission = _lock_pending(submission)
    _mark_reviewed(submission, editor, Submission.Status.REJECTED, reason=reason)
    return submission


@transaction.atomic
def mark_duplicate(submission: Submission, entry: Entry, editor) -> Submission:
    """Close the submission as a duplicate of an existing entry; the entry is not changed."""
    submission = _lock_pending(submission)
    _mark_reviewed(
        submission,
        editor,
        Submission.Status.DUPLICATE,
        reason=f"Duplicate of {entry.public_id}",
        duplicate_of=entry,
    )
    return submission


@transaction.atomic
def bulk_reject(ids, editor, reason: str) -> int:
    """Reject every still-pending submission among ids (e.g. spam); returns how many."""
    reason = _required_reason(reason)
    pending = Submission.objects.pending().filter(pk__in=list(ids))
    return pending.update(
        status=Submission.Status.REJECTED,
        reviewed_by=editor,
        reviewed_at=timezone.now(),
        review_reason=reason,
    )
