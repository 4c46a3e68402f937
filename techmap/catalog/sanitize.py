"""Allowlist HTML sanitising for every rich-text field (descriptions, profiles)."""

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


def sanitize_html(html: str) -> str:
    """Return html with every tag, attribute and URL scheme outside the allowlist removed."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
