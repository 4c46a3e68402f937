"""Which pages other sites may put in an <iframe>: the embed pages, and nothing else.

Every response carries the site-wide `frame-ancestors 'none'` and `X-Frame-Options: DENY`
(settings.py). A view wrapped in frameable() instead names the allowed framing sites,
TECHMAP_EMBED_ANCESTORS (read per request, so tests and deployments can change it), and drops
X-Frame-Options, which cannot express an allow-list.
"""

from functools import wraps

from csp.decorators import csp_replace
from django.conf import settings
from django.views.decorators.clickjacking import xframe_options_exempt


def embed_ancestors() -> list[str]:
    """TECHMAP_EMBED_ANCESTORS as CSP source expressions ('*' by default; 'none' allowed)."""
    raw = settings.TECHMAP["EMBED_ANCESTORS"].replace(",", " ").split()
    sources = [f"'{s}'" if s.strip("'") in {"none", "self"} else s for s in raw]
    return sources or ["'none'"]


def frameable(view):
    """Let the sites in TECHMAP_EMBED_ANCESTORS frame this view."""

    @xframe_options_exempt
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        allow = csp_replace({"frame-ancestors": embed_ancestors()})
        return allow(view)(request, *args, **kwargs)

    return wrapped
