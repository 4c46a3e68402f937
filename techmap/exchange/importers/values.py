"""Cell readers shared by the importers: countries, years, coordinates and HTML links.

Each reader returns the value or raises ValueError with a reason a reader understands.
"""

import functools
import re
from html.parser import HTMLParser

import pycountry

YEAR_RANGE = (1900, 2100)
_YEAR = re.compile(r"^\s*(\d{4})(?:\.0+)?\s*$")
_LEADING_YEAR = re.compile(r"^\s*(\d{4})\b")
# Characters with which a spreadsheet starts a formula (minus '-', common in real text).
FORMULA_CHARS = ("=", "+", "@", "\t", "\r")


@functools.cache
def _country_index() -> dict[str, str]:
    index = {}
    # The names gazetteer.all_countries() gives, without its region table (slow to load).
    for c in pycountry.countries:
        for name in (getattr(c, "common_name", None) or c.name, c.alpha_2, c.alpha_3):
            index[name.casefold()] = c.alpha_2
    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            name = getattr(c, attr, None)
            if name:
                index.setdefault(name.casefold(), c.alpha_2)
    return index


@functools.cache
def country_iso2(name: str) -> str:
    """ISO 3166-1 alpha-2 code of a country name or code; ValueError when unknown."""
    key = " ".join(name.split()).casefold()
    if not key:
        raise ValueError("no country given")
    if key in _country_index():
        return _country_index()[key]
    try:
        return pycountry.countries.lookup(name.strip()).alpha_2
    except LookupError:
        pass
    try:
        matches = pycountry.countries.search_fuzzy(name.strip())
    except LookupError:
        matches = []
    if matches:
        return matches[0].alpha_2
    raise ValueError(f"unknown country {name.strip()!r}")


def parse_year(text: str) -> int | None:
    """A four-digit year (blank gives None); ValueError when unparseable or out of range."""
    if text is None or str(text).strip() == "":
        return None
    match = _YEAR.match(str(text))
    if not match:
        raise ValueError(f"{str(text).strip()[:40]!r} is not a year")
    return _year_in_range(int(match.group(1)))


def parse_leading_year(text: str) -> int | None:
    """The year at the start of text such as '2016 January' (blank gives None)."""
    if text is None or str(text).strip() == "":
        return None
    match = _LEADING_YEAR.match(str(text))
    if not match:
        raise ValueError(f"{str(text).strip()[:40]!r} does not start with a year")
    return _year_in_range(int(match.group(1)))


def _year_in_range(year: int) -> int:
    low, high = YEAR_RANGE
    if not low <= year <= high:
        raise ValueError(f"year {year} is outside {low}-{high}")
    return year


def parse_coordinate(text: str, limit: float, what: str) -> float | None:
    """A latitude (limit 90) or longitude (limit 180) in degrees; blank gives None."""
    if text is None or str(text).strip() == "":
        return None
    try:
        value = float(str(text).strip())
    except ValueError:
        raise ValueError(f"{str(text).strip()[:40]!r} is not a {what}") from None
    if value != value or not -limit <= value <= limit:  # NaN or out of range
        raise ValueError(f"{what} {value} is outside -{limit:g}..{limit:g}")
    return value


def is_http_url(url: str) -> bool:
    return url.lower().startswith(("http://", "https://")) and len(url) > len("https://")


def looks_like_formula(text: str) -> bool:
    """True for a cell a spreadsheet would evaluate (=, +, @, tab, CR first)."""
    return text.startswith(FORMULA_CHARS)


class _LinkParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[list[str]] = []
        self._open: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            self._open = [href.strip(), ""] if href is not None else None
            if self._open is not None:
                self.links.append(self._open)

    def handle_endtag(self, tag):
        if tag == "a":
            self._open = None

    def handle_data(self, data):
        if self._open is not None:
            self._open[1] += data


# The plain shapes most descriptions are made of: <a href="URL">text</a> with no entity,
# tag or angle bracket inside, and a few bare formatting tags. Text made only of these reads
# the same with a regular expression as with the HTML parser, about twenty times faster.
_SIMPLE_LINK = re.compile(r'<a href="([^"<>&]*)">([^<>&]*)</a>')
_SIMPLE_TAG = re.compile(r"</?(?:p|br|em|strong|i|b|ul|ol|li|blockquote|q|cite) ?/?>")


def html_links(html: str) -> list[tuple[str, str]]:
    """(href, link text) of every <a href> in html, in document order."""
    if not html or ("<a" not in html and "<A" not in html):
        return []  # no <a> tag can start without "<a": skip the (slow) parser
    if "&" not in html:
        links = _SIMPLE_LINK.findall(html)
        if "<" not in _SIMPLE_TAG.sub("", _SIMPLE_LINK.sub("", html)):
            return [(href.strip(), " ".join(text.split())) for href, text in links]
    parser = _LinkParser()
    parser.feed(html or "")
    parser.close()
    return [(href, " ".join(text.split())) for href, text in parser.links]
