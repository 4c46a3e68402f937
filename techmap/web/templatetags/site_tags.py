"""Template helpers shared by the pages: navigation state and entry years."""

from django import template
from django.utils.safestring import mark_safe

from techmap.web.pages import years_text

register = template.Library()


@register.simple_tag(takes_context=True)
def nav_current(context, href: str) -> str:
    """aria-current for a main navigation link: 'page' on it, 'true' inside its section."""
    request = context.get("request")
    path = getattr(request, "path", None)
    if path is None:
        return ""
    if path == href:
        return mark_safe(' aria-current="page"')
    if href != "/" and path.startswith(href):
        return mark_safe(' aria-current="true"')
    return ""


@register.filter
def entry_years(entry) -> str:
    """The years an entry ran, e.g. '2016–2019' or 'since 2018'."""
    return years_text(entry.year_started, entry.year_ended)
