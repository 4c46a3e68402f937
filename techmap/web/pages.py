"""Plain functions that build what the entry pages show; the views only wrap them.

Nothing here reads the request except through the arguments it is given, so each
function can be tested without HTTP.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import dateformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, pgettext_lazy

from techmap.catalog import names
from techmap.catalog.history import public_change_log
from techmap.catalog.models import Category, Company, Country, Entry, EntrySource, Topic
from techmap.catalog.queries import EntryFilters, FilterError, filter_entries, parse_filters

ENTRIES_PER_PAGE = 50
CHINA_TECH_MAP_MARKER_URL = "https://chinatechmap.aspi.org.au/#/map/marker-{}"
REPORT_CREDIT = gettext_lazy(
    "Data: ASPI International Cyber Policy Centre, "
    "Mapping China's technology giants (2019)."
)
PRECISION_IN_WORDS = {
    Entry.Precision.EXACT: gettext_lazy("Exact: the point marks the site itself."),
    Entry.Precision.CITY: gettext_lazy("City: the point marks the city, not the site."),
    Entry.Precision.COUNTRY: gettext_lazy("Country: the point is drawn at the country's capital."),
    Entry.Precision.NONE: gettext_lazy("No location recorded."),
}


def long_date(day: date) -> str:
    """A date in words in the active language: '5 May 2025', '2025年5月5日'."""
    return dateformat.format(day, _("j F Y"))
# The public change log names changed fields by their lowercased labels (history.field_label).
CHANGE_LABELS = [
    gettext_noop("title"), gettext_noop("category"), gettext_noop("secondary category"),
    gettext_noop("country"), gettext_noop("city"), gettext_noop("address"),
    gettext_noop("latitude"), gettext_noop("longitude"), gettext_noop("precision"),
    gettext_noop("line geometry"), gettext_noop("partners"), gettext_noop("financing lender"),
    gettext_noop("financing amount"), gettext_noop("financing currency"),
    gettext_noop("year commenced"), gettext_noop("year ended"), gettext_noop("description"),
    gettext_noop("status"), gettext_noop("highlight"), gettext_noop("external refs"),
    gettext_noop("companies"), gettext_noop("topics"), gettext_noop("sources"),
    gettext_noop("public id"),
]
_MARKER_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


# --- Shared helpers --------------------------------------------------------------------------


def years_text(year_started: int | None, year_ended: int | None) -> str:
    """The years an entry ran, e.g. '2018', '2016–2019', 'since 2018', 'until 2019' or ''."""
    if year_started and year_ended:
        return str(year_started) if year_started == year_ended else f"{year_started}–{year_ended}"
    if year_started:
        return _("since %(year)s") % {"year": year_started}
    if year_ended:
        return _("until %(year)s") % {"year": year_ended}
    return ""


def query_string(filters: EntryFilters) -> str:
    """The filters as a URL query string without the '?' (empty when there are none)."""
    return urlencode(filters.as_query())


def list_entries(queryset: QuerySet) -> QuerySet:
    """Entries ordered for tables, with everything a table row shows fetched up front."""
    return (
        queryset.select_related("category", "country")
        .prefetch_related(
            Prefetch("companies", queryset=Company.objects.only("slug", "name", "name_zh"))
        )
        .order_by("title", "public_id")
    )


# --- /entries/ -----------------------------------------------------------------------------


@dataclass
class FilterField:
    """One select of the filter form: its parameter, label, options and current values."""

    name: str
    label: str
    options: list[tuple[str, str]]
    selected: tuple[str, ...] = ()
    any_label: str = ""  # the empty choice, e.g. 'Any company'

    @property
    def multiple(self) -> bool:
        return len(self.selected) > 1


@dataclass
class EntryListPage:
    """Everything /entries/ shows, for one set of query parameters."""

    filters: EntryFilters | None
    error: str = ""
    page: Page | None = None
    form_fields: list[FilterField] = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    @property
    def status(self) -> int:
        return 400 if self.error else 200

    @property
    def query(self) -> str:
        return query_string(self.filters) if self.filters else ""

    @property
    def map_url(self) -> str:
        return f"/?{self.query}" if self.query else "/"

    def download_url(self, extension: str) -> str:
        """The current filter as a download (csv, xlsx or geojson)."""
        path = f"/download/entries.{extension}"
        return f"{path}?{self.query}" if self.query else path

    @property
    def downloads(self) -> list[tuple[str, str]]:
        return [(label, self.download_url(ext)) for label, ext in DOWNLOAD_FORMATS]


DOWNLOAD_FORMATS = [("CSV", "csv"), ("XLSX", "xlsx"), ("GeoJSON", "geojson")]
FILTER_LABELS = {
    "company": (pgettext_lazy("filter", "Company"), gettext_lazy("Any company")),
    "category": (pgettext_lazy("filter", "Category"), gettext_lazy("Any category")),
    "country": (pgettext_lazy("filter", "Country"), gettext_lazy("Any country")),
    "topic": (pgettext_lazy("filter", "Topic"), gettext_lazy("Any topic")),
}


def _field(name: str, options, selected) -> FilterField:
    label, any_label = FILTER_LABELS[name]
    return FilterField(name, str(label), list(options), selected, str(any_label))


def _labels(queryset) -> list[tuple[str, str]]:
    """(slug, label in the active language) for categories or topics, in their order."""
    return [
        (slug, names.label(name, name_zh))
        for slug, name, name_zh in queryset.values_list("slug", "name", "name_zh")
    ]


def filter_form_fields(filters: EntryFilters | None) -> list[FilterField]:
    """The selects of the filter form; countries are those with published entries."""
    filters = filters or EntryFilters()
    countries = Country.objects.filter(
        Q(entries__status=Entry.Status.PUBLISHED) | Q(iso2__in=filters.countries)
    ).distinct()
    companies = [
        (slug, names.company_name(name, name_zh))
        for slug, name, name_zh in Company.objects.values_list("slug", "name", "name_zh")
    ]
    country_options = [
        (iso2, names.country_name(iso2, name))
        for iso2, name in countries.order_by("name").values_list("iso2", "name")
    ]
    return [
        _field("company", companies, filters.companies),
        _field("category", _labels(Category.objects.all()), filters.categories),
        _field("country", country_options, filters.countries),
        _field("topic", _labels(Topic.objects.all()), filters.topics),
    ]


def entry_list_page(params, page_number=None) -> EntryListPage:
    """Validate the filters in params and return one page of matching published entries."""
    raw = {name: params.get(name, "") for name in ("year_from", "year_to", "q")}
    try:
        filters = parse_filters(params)
    except FilterError as exc:
        return EntryListPage(filters=None, error=str(exc), form_fields=filter_form_fields(None),
                             raw=raw)
    paginator = Paginator(list_entries(filter_entries(filters)), ENTRIES_PER_PAGE)
    return EntryListPage(
        filters=filters,
        page=paginator.get_page(page_number),
        form_fields=filter_form_fields(filters),
        raw=raw,
    )


# --- /entries/<public_id>/ -----------------------------------------------------------------


def get_published_entry(public_id: str) -> Entry:
    """The published entry with this public id and all its relations; Http404 otherwise."""
    sources = EntrySource.objects.select_related("source").order_by("position", "id")
    entry = (
        Entry.objects.published()
        .select_related("category", "secondary_category", "country")
        .prefetch_related("companies", "topics", Prefetch("entry_sources", queryset=sources))
        .filter(public_id=public_id)
        .first()
    )
    if entry is None:
        raise Http404("No published entry has this id.")
    return entry


def financing_text(entry: Entry) -> str:
    """Lender and amount, e.g. 'China Exim Bank, USD 1,000,000' (empty if unknown)."""
    amount = ""
    if entry.financing_amount is not None:
        number = f"{entry.financing_amount:,.2f}".removesuffix(".00")
        amount = f"{entry.financing_currency} {number}".strip()
    return ", ".join(part for part in (entry.financing_lender, amount) if part)


def external_references(entry: Entry) -> list[dict]:
    """External identifiers as label, value and (for known catalogues) a link."""
    refs = []
    for key, value in sorted((entry.external_refs or {}).items()):
        value = str(value)
        if key == "chinatechmap_marker" and _MARKER_ID.match(value):
            refs.append({"label": _("China Tech Map marker"), "value": value,
                         "url": CHINA_TECH_MAP_MARKER_URL.format(value)})
        else:
            refs.append({"label": key.replace("_", " "), "value": value, "url": ""})
    return refs


def entry_citation(entry: Entry, absolute_url: str, accessed: date) -> str:
    """A ready-to-copy citation of one entry."""
    return _(
        "%(title)s. techmap entry %(id)s. %(url)s. %(credit)s Accessed %(date)s."
    ) % {"title": entry.title, "id": entry.public_id, "url": absolute_url,
         "credit": REPORT_CREDIT, "date": long_date(accessed)}


def minimap_geometry(entry: Entry) -> dict | None:
    """What the small location map draws: the point, its precision and any line."""
    if not entry.has_point and not entry.line_geometry:
        return None
    return {
        "lat": repr(entry.latitude) if entry.has_point else "",
        "lng": repr(entry.longitude) if entry.has_point else "",
        "precision": entry.precision,
        "line": entry.line_geometry or None,
    }


def entry_detail_context(entry: Entry, absolute_url: str, today: date) -> dict:
    """The template context of an entry page."""
    return {
        "entry": entry,
        "companies": list(entry.companies.all()),
        "topics": list(entry.topics.all()),
        "sources": [link.source for link in entry.entry_sources.all()],
        "years": years_text(entry.year_started, entry.year_ended),
        "precision_text": str(PRECISION_IN_WORDS.get(entry.precision, entry.precision)),
        "financing": financing_text(entry),
        "external_refs": external_references(entry),
        "citation": entry_citation(entry, absolute_url, today),
        "minimap": minimap_geometry(entry),
        "change_log": public_change_log(entry),
    }
