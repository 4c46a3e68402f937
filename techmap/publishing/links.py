"""Where each address of the live site lives in a static copy, and the links between them.

A static host serves files and ignores query strings, so every address the static site
offers must be a file path: pages become <path>/index.html, API answers get a .json suffix,
list pages move from /entries/?page=N to /entries/page/N/. Links in the rendered HTML are
rewritten to those paths; links that need a server (a filtered list, the submission form)
go where the same thing works without one (the map's list view, the live site).
"""

import html
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

# Pages that need a server: forms, the editors' queue, the admin, the OGC API.
LIVE_ONLY = ("/submit/", "/review/", "/admin/", "/accounts/", "/i18n/", "/ogc/")
SUBMIT_PAGE = "/submit/"
LIST_PATH = "/entries/"
# Filter forms on these pages send the map's own parameters, which the map applies itself.
FILTER_FORM_PATHS = ("/entries/", "/stats/")

# Django templates always quote attributes with double quotes and escape their values,
# so a value never holds a raw double quote; this finds every link a page can follow.
LINK_ATTRIBUTE = re.compile(r'(\s(href|src|action)=")([^"]*)(")')
# The language switch posts to the server, which keeps the choice in a cookie; a static copy
# is written in one language, so the switch is left out (forms are never nested in HTML).
LANGUAGE_FORM = re.compile(r'<form[^>]*\saction="/i18n/setlang/"[^>]*>.*?</form>', re.DOTALL)


def static_url(url: str) -> str:
    """The address of url in the static copy (url is a same-origin path with its query)."""
    parts = urlsplit(url)
    path = parts.path
    page = list_page_number(url)
    if page is not None:
        return LIST_PATH if page == 1 else f"{LIST_PATH}page/{page}/"
    if path.startswith("/api/") and "." not in path.rsplit("/", 1)[-1]:
        return f"{path}.json"  # a static host needs a suffix to send the JSON content type
    return path


def output_path(url: str) -> str:
    """The file, relative to the output folder, that holds url."""
    target = static_url(url)
    if target.endswith("/"):
        target += "index.html"
    return target.lstrip("/")


def list_page_number(url: str) -> int | None:
    """N for /entries/?page=N (no other parameters), else None."""
    parts = urlsplit(url)
    if parts.path != LIST_PATH or not parts.query:
        return None
    params = parse_qsl(parts.query)
    if len(params) != 1 or params[0][0] != "page" or not params[0][1].isdigit():
        return None
    return int(params[0][1])


@dataclass
class LinkPlan:
    """Decides what each link of a rendered page points to, and collects pages to render."""

    list_pages: int
    live_url: str = ""
    wanted: list[str] = field(default_factory=list)

    def _render(self, url: str) -> str:
        self.wanted.append(url)
        return static_url(url)

    def _live(self, url: str) -> str:
        return f"{self.live_url}{url}" if self.live_url else SUBMIT_PAGE

    def target(self, url: str, attribute: str = "href") -> str:
        """The static address for a same-origin url (path, query and fragment)."""
        parts = urlsplit(url)
        path, query = parts.path or "/", parts.query
        fragment = f"#{parts.fragment}" if parts.fragment else ""
        if path.startswith("/static/"):
            return url  # written by collectstatic
        if path.startswith(LIVE_ONLY):
            return self._live(f"{path}{'?' + query if query else ''}") + fragment
        if attribute == "action" and path in FILTER_FORM_PATHS:
            return "/"
        if not query:
            return self._render(path) + fragment
        if path == "/":
            self._render("/")
            return url  # the map reads its filters from the query string itself
        if path == LIST_PATH:
            return self._list_target(query) + fragment
        # A static file cannot vary by query string: link the unfiltered page.
        return self._render(path) + fragment

    def _list_target(self, query: str) -> str:
        page = list_page_number(f"{LIST_PATH}?{query}")
        if page is not None and page <= self.list_pages:
            return self._render(f"{LIST_PATH}?page={page}" if page > 1 else LIST_PATH)
        # Filtered (or later) list pages need a server; the map's list view filters in the browser.
        filters = [(k, v) for k, v in parse_qsl(query) if k != "page"]
        self._render("/")
        return f"/?{urlencode([*filters, ('view', 'list')])}"

    def rewrite(self, page_url: str, text: str) -> str:
        """text (an HTML page rendered at page_url) with every same-origin link made static."""

        def replace(match: re.Match) -> str:
            value = html.unescape(match.group(3))
            parts = urlsplit(value)
            if parts.scheme or parts.netloc or not value or value.startswith("#"):
                return match.group(0)  # another site, a data: URL or a fragment of this page
            new = self.target(urljoin(page_url, value), match.group(2))
            return f"{match.group(1)}{html.escape(new, quote=True)}{match.group(4)}"

        return LINK_ATTRIBUTE.sub(replace, LANGUAGE_FORM.sub("", text))
