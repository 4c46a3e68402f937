"""Template helpers shared by the pages: navigation state and entry years."""

from django import template
from django.utils.safestring import mark_safe

from techmap.catalog import names
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
def country_name(iso2: str, english: str = "") -> str:
    """{{ country.iso2|country_name:country.name }}: the name in the active language."""
    return names.country_name(iso2, english)


@register.filter
def company_name(company) -> str:
    """{{ company|company_name }}: 'Chinese (English)' in Chinese when the name is known."""
    if isinstance(company, dict):  # a stats row
        return names.company_name(company["name"], company.get("name_zh", ""))
    return names.company_name(company.name, getattr(company, "name_zh", ""))


@register.filter
def local_name(obj) -> str:
    """{{ category|local_name }}: a category's, topic's or stats row's name in the language."""
    return names.label_of(obj)


@register.filter
def source_language(code: str) -> str:
    """{{ source.language|source_language }}: 'Chinese' when not the interface's language."""
    return names.source_language_note(code)


@register.filter
def entry_years(entry) -> str:
    """The years an entry ran, e.g. '2016–2019' or 'since 2018'."""
    return years_text(entry.year_started, entry.year_ended)
