"""Allowlist HTML sanitising for every rich-text field (descriptions, profiles)."""

import functools

import nh3

ALLOWED_TAGS = {
    "a",
    "p",
    "br",
    "em",
    "strong",
    "i",
    "b",
    "ul",
    "ol",
    "li",
    "blockquote",
    "q",
    "cite",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title", "hreflang"}}
URL_SCHEMES = {"http", "https", "mailto"}


@functools.cache
def _cleaner() -> nh3.Cleaner:
    # Built once: nh3.clean() rebuilds its configuration on every call, which made it about
    # three times slower per description (it matters on 100,000-row imports).
    return nh3.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def sanitize_html(html: str) -> str:
    """Return html with every tag, attribute and URL scheme outside the allowlist removed."""
    if not html:
        return ""
    return _cleaner().clean(html)
