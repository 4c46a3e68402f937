"""TeleGeography's public submarine cable map data (format 'telegeography').

PATH is a folder holding one JSON file per cable (id, name, owners as one comma-separated
string, landing_points with "lat,lng" latlon, rfs, length, url) and cable-geo.json, a
FeatureCollection of MultiLineStrings whose properties.slug is the cable id. Other index
files (all.json, landing-point-geo.json) are ignored.

Decisions a reader of the data should know:
- A cable is imported when at least one owner names a tracked company: its name or one
  of its aliases (DEFAULT_ALIASES, or --aliases FILE) as whole words, case-insensitively.
  The entry links every matching company; other cables are skipped and counted.
- Public id ``tg-<id>``, ``external_refs.telegeography_cable`` is the external key.
- A cable spans many countries, so the entry has no country and no point (precision
  none); the route is its line geometry and the landing points are kept by name in
  ``external_refs.landing_points``. Longitudes just past ±180 are wrapped into range.
- The ready-for-service year (rfs "2016 January") is the year commenced; the full owner
  list becomes the partners; the source is the cable's page on TeleGeography's map.
"""

import html
import json
import re
from pathlib import Path

from django.core.exceptions import ValidationError

from techmap.catalog.geo import line_geometry_error
from techmap.catalog.models import Company, public_id_validator
from techmap.exchange.importers.base import ImportFormatError, ParseResult, RowError, read_text
from techmap.exchange.importers.records import EntryRecord, NamedRef, SourceRecord
from techmap.exchange.importers.values import is_http_url, parse_coordinate, parse_leading_year

# Owner names under which tracked companies appear in TeleGeography's data, by company slug.
# TECHMAP setting candidate; --aliases FILE replaces the list of each company it names.
DEFAULT_ALIASES: dict[str, list[str]] = {
    "china-telecom": ["China Telecom", "China Telecom Global", "China Telecom Americas"],
    "china-unicom": ["China Unicom", "China Unicom Global"],
    "china-mobile": ["China Mobile", "China Mobile International"],
    "huawei": ["Huawei Marine", "Huawei Marine Networks", "HMN Technologies", "HMN Tech"],
}
GEO_FILE = "cable-geo.json"
INDEX_FILES = {GEO_FILE, "all.json", "landing-point-geo.json"}
CATEGORY = NamedRef(slug="cable-undersea", name="Cable (undersea)")
EXTERNAL_KEY = "telegeography_cable"
CABLE_PAGE = "https://www.submarinecablemap.com/submarine-cable/{id}"
PUBLISHER = "TeleGeography"


def read_aliases(path: Path) -> dict[str, list[str]]:
    """The aliases JSON file {"company-slug": ["owner name", ...]} or ImportFormatError."""
    try:
        data = json.loads(read_text(path, "a JSON aliases file"))
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"{Path(path).name} is not valid JSON ({exc}).") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(n, str) for n in v)
        for k, v in data.items()
    ):
        raise ImportFormatError(
            f'{Path(path).name} must be a JSON object {{"company-slug": ["owner name", ...]}}.'
        )
    return data


def owner_matchers(aliases: dict[str, list[str]] | None = None) -> list[tuple[Company, re.Pattern]]:
    """For each tracked company, a pattern matching its name or aliases as whole words."""
    merged = {**DEFAULT_ALIASES, **(aliases or {})}
    matchers = []
    for company in Company.objects.order_by("name"):
        names = sorted({company.name, *merged.get(company.slug, [])}, key=len, reverse=True)
        alternatives = "|".join(re.escape(" ".join(n.split())) for n in names if n.strip())
        matchers.append((company, re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)))
    return matchers


def split_owners(owners) -> list[str]:
    return [" ".join(o.split()) for o in str(owners or "").split(",") if o.strip()]


def _wrap_longitude(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value > 180:
            return value - 360
        if value < -180:
            return value + 360
    return value


def _wrapped(geometry):
    """geometry with longitudes slightly past the antimeridian brought back into range."""
    if not isinstance(geometry, dict) or not isinstance(geometry.get("coordinates"), list):
        return geometry

    def fix(node):
        if isinstance(node, list) and node and not isinstance(node[0], list):
            return [_wrap_longitude(node[0]), *node[1:]]
        return [fix(n) for n in node] if isinstance(node, list) else node

    return {"type": geometry.get("type"), "coordinates": fix(geometry["coordinates"])}


def _read_routes(folder: Path) -> dict[str, dict]:
    path = folder / GEO_FILE
    if not path.is_file():
        raise ImportFormatError(
            f"{folder} is not a TeleGeography cable folder: it has no {GEO_FILE}."
        )
    try:
        data = json.loads(read_text(path, f"a TeleGeography {GEO_FILE}"))
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"{GEO_FILE} is not valid JSON ({exc}).") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise ImportFormatError(f"{GEO_FILE} is not a GeoJSON FeatureCollection.")
    routes = {}
    for feature in data.get("features") or []:
        props = (feature or {}).get("properties") or {}
        key = props.get("slug") or props.get("id")
        if key:
            routes[str(key)] = feature.get("geometry")
    return routes


def _cable_record(cable: dict, companies: list[Company], routes: dict, errors, name) -> EntryRecord:
    n_errors = len(errors)

    def error(column, reason):
        errors.append(RowError(None, column, reason, file=name))

    ident = str(cable.get("id") or "").strip()
    public_id = f"tg-{ident}"
    try:
        public_id_validator(public_id)
    except ValidationError:
        error("id", f"{ident[:40]!r} is not a usable cable id")
    title = " ".join(str(cable.get("name") or "").split())
    if not title:
        error("name", "a value is required")
    elif len(title) > 300:
        error("name", "longer than 300 characters")
    landing_names = []
    landing = cable.get("landing_points") or []
    if not isinstance(landing, list):
        error("landing_points", "expected a list")
        landing = []
    for point in landing:
        if not isinstance(point, dict):
            error("landing_points", "expected objects with name and latlon")
            continue
        landing_names.append(" ".join(str(point.get("name") or point.get("id") or "").split()))
        latlon = str(point.get("latlon") or "")
        if latlon:
            parts = latlon.split(",")
            try:
                if len(parts) != 2:
                    raise ValueError(f"latlon {latlon[:40]!r} is not 'lat,lng'")
                parse_coordinate(parts[0], 90, "latitude")
                parse_coordinate(parts[1], 180, "longitude")
            except ValueError as exc:
                error("landing_points", f"{landing_names[-1]}: {exc}")
    try:
        year = parse_leading_year(cable.get("rfs"))
    except ValueError as exc:
        error("rfs", str(exc))
        year = None
    geometry = routes.get(ident)
    if geometry is not None:
        geometry = _wrapped(geometry)
        problem = line_geometry_error(geometry)
        if problem:
            error(GEO_FILE, f"route of {ident}: {problem}")
    if len(errors) > n_errors:
        return None
    owners = split_owners(cable.get("owners"))
    refs = {EXTERNAL_KEY: ident, "landing_points": [n for n in landing_names if n]}
    if cable.get("length"):
        refs["length"] = str(cable["length"])
    url = str(cable.get("url") or "").strip()
    if url and is_http_url(url):
        refs["website"] = url
    description = (
        f"<p>{html.escape(title)}: submarine cable"
        + (f" of {html.escape(str(cable['length']))}" if cable.get("length") else "")
        + (f", ready for service {html.escape(str(cable['rfs']))}" if cable.get("rfs") else "")
        + f". Owners: {html.escape(', '.join(owners))}.</p>"
    )
    return EntryRecord(
        public_id=public_id,
        external_key=(EXTERNAL_KEY, ident),
        title=title,
        category=CATEGORY,
        companies=[NamedRef(name=c.name, slug=c.slug) for c in companies],
        line_geometry=geometry,
        partners=owners,
        year_started=year,
        description=description,
        external_refs=refs,
        sources=[
            SourceRecord(
                title=f"Submarine Cable Map: {title}",
                publisher=PUBLISHER,
                url=CABLE_PAGE.format(id=ident),
            )
        ],
    )


def parse_telegeography(path, aliases: dict | None = None) -> ParseResult:
    """Read a TeleGeography cable folder; cables without a tracked owner are skipped."""
    folder = Path(path)
    if not folder.is_dir():
        raise ImportFormatError(
            f"{folder} is not a folder; telegeography expects the folder of cable JSON files "
            f"and {GEO_FILE}."
        )
    routes = _read_routes(folder)
    files = sorted(p for p in folder.glob("*.json") if p.name not in INDEX_FILES)
    if not files:
        raise ImportFormatError(f"{folder} holds no cable JSON files.")
    matchers = owner_matchers(aliases)
    result = ParseResult()
    seen: dict[str, str] = {}
    for file in files:
        try:
            cable = json.loads(read_text(file, "a TeleGeography cable JSON file"))
        except (json.JSONDecodeError, ImportFormatError) as exc:
            result.errors.append(
                RowError(None, "", f"not a cable JSON file ({exc})", file=file.name)
            )
            continue
        if not isinstance(cable, dict) or not {"id", "name", "owners"} <= cable.keys():
            result.errors.append(
                RowError(None, "", "not a cable file: needs id, name and owners", file=file.name)
            )
            continue
        owners = split_owners(cable.get("owners"))
        companies = [c for c, pattern in matchers if any(pattern.search(o) for o in owners)]
        if not companies:
            result.skipped += 1
            result.skipped_reasons.append(f"{file.name}: no tracked owner")
            continue
        ident = str(cable.get("id") or "")
        if ident in seen:
            result.errors.append(
                RowError(None, "id", f"duplicate cable id {ident} (also {seen[ident]})", file.name)
            )
            continue
        seen[ident] = file.name
        record = _cable_record(cable, companies, routes, result.errors, file.name)
        if record is not None:
            result.records.append(record)
    return result
