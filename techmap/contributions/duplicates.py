"""Which existing entries a submission probably repeats: plain functions, no HTTP.

Candidates are narrowed in SQL (same country, or within reach of the submission's
point) and capped, then scored in Python with rapidfuzz, so the cost per submission
stays flat however large the catalog grows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, Value
from rapidfuzz import fuzz, utils

from techmap.catalog.models import Company, Entry

TITLE_THRESHOLD = 70
"""token_set_ratio (0-100) from which two titles count as similar."""

NEARBY_KM = 50.0
"""Two points closer than this count as the same place."""

MAX_CANDIDATES = 300
"""Most entries fuzzy-matched per submission; same-company entries are taken first."""

EARTH_RADIUS_KM = 6371.0088
_KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180


@dataclass(frozen=True)
class Duplicate:
    """One likely duplicate: the entry, a 0-100 score and the reasons, in words."""

    entry: Entry
    score: int
    reasons: tuple[str, ...]

    def __iter__(self):
        # Unpacks as (entry, score, reasons).
        return iter((self.entry, self.score, self.reasons))


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in kilometres between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def title_similarity(a: str, b: str) -> float:
    """0-100: how alike two titles are, ignoring case, punctuation and word order."""
    return fuzz.token_set_ratio(a, b, processor=utils.default_process)


def submission_company_id(submission) -> int | None:
    """The catalog company a submission names: chosen, or typed as 'other' with an exact name."""
    if submission.company_id:
        return submission.company_id
    name = (getattr(submission, "other_company_name", "") or "").strip()
    if not name:
        return None
    return (
        Company.objects.filter(Q(name__iexact=name) | Q(name_zh=name))
        .values_list("pk", flat=True)
        .first()
    )


def _near_box(lat: float, lng: float, km: float) -> Q:
    """A latitude/longitude box around a point that contains the circle of radius km."""
    dlat = km / _KM_PER_DEGREE
    dlng = km / (_KM_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
    box = Q(latitude__gte=lat - dlat, latitude__lte=lat + dlat)
    west, east = lng - dlng, lng + dlng
    if west < -180 or east > 180:  # the box crosses the antimeridian
        return box & (
            Q(longitude__gte=(west + 540) % 360 - 180) | Q(longitude__lte=(east + 540) % 360 - 180)
        )
    return box & Q(longitude__gte=west, longitude__lte=east)


def candidate_entries(submission, company_id: int | None, limit: int = MAX_CANDIDATES):
    """Unretired entries in the submission's country or near its point, same company first.

    One query; each entry carries ``same_company`` (bool). At most limit entries.
    """
    where = Q(country_id=submission.country_id) if submission.country_id else Q(pk__in=[])
    if submission.latitude is not None and submission.longitude is not None:
        where |= _near_box(submission.latitude, submission.longitude, NEARBY_KM)
    same_company = (
        Exists(
            Entry.companies.through.objects.filter(entry_id=OuterRef("pk"), company_id=company_id)
        )
        if company_id
        else Value(False)
    )
    return (
        Entry.objects.exclude(status=Entry.Status.RETIRED)
        .filter(where)
        .annotate(same_company=same_company)
        .select_related("country")
        .only(
            "pk",
            "public_id",
            "title",
            "status",
            "city",
            "latitude",
            "longitude",
            "category_id",
            "country__name",
            "country__iso2",
        )
        .order_by("-same_company", "-pk")[:limit]
    )


def score_candidate(submission, entry, title_ratio: float) -> Duplicate | None:
    """Score one candidate against the submission, or None when it is not a likely duplicate."""
    reasons = []
    score = 0.6 * title_ratio
    similar_title = title_ratio >= TITLE_THRESHOLD
    if similar_title:
        reasons.append(f"similar title ({round(title_ratio)}%)")
    if entry.same_company:
        score += 20
        reasons.append("same company")
    if submission.country_id and entry.country_id == submission.country_id:
        score += 10
        reasons.append("same country")
    near = False
    if submission.has_point and entry.has_point:
        km = haversine_km(
            submission.latitude, submission.longitude, entry.latitude, entry.longitude
        )
        if km < NEARBY_KM:
            near = True
            score += 10 * (1 - km / NEARBY_KM)
            reasons.append(f"{km:.0f} km away" if km >= 1 else "at the same place")
    same_city = bool(submission.city and entry.city) and (
        submission.city.strip().casefold() == entry.city.strip().casefold()
    )
    if same_city:
        score += 5
        reasons.append("same city")
    if submission.category_id and entry.category_id == submission.category_id:
        score += 5
        reasons.append("same category")
    # A similar title alone is enough; otherwise the same company at the same place.
    if not (similar_title or (entry.same_company and (near or same_city))):
        return None
    return Duplicate(entry=entry, score=min(100, round(score)), reasons=tuple(reasons))


def likely_duplicates(submission, limit: int = 5) -> list[Duplicate]:
    """The existing entries the submission most probably repeats, best first.

    Each item unpacks as (entry, score, reasons); score is 0-100.
    """
    company_id = submission_company_id(submission)
    candidates = list(candidate_entries(submission, company_id))
    found = []
    for entry in candidates:
        match = score_candidate(submission, entry, title_similarity(submission.title, entry.title))
        if match:
            found.append(match)
    found.sort(key=lambda d: (-d.score, d.entry.public_id))
    return found[:limit]
