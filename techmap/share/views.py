"""Thin views: the embeddable map and the social-card images."""

from django.http import Http404, HttpResponse

from techmap.catalog.models import Company
from techmap.share import social
from techmap.share.cards import render_png
from techmap.share.framing import frameable
from techmap.web import pages, profiles
from techmap.web.views import map_page


@frameable
def embed_map(request):
    """/embed/: the map without the site's header and footer, for other sites' iframes."""
    return map_page(request, template_name="share/embed.html")


def png(card) -> HttpResponse:
    # Caching headers (ETag of these bytes, Last-Modified, max-age) come from
    # techmap.web.caching.PublicCacheMiddleware like every public answer.
    return HttpResponse(render_png(card), content_type="image/png")


def site_card(request):
    """/cards/site.png: the card of the map home."""
    return png(social.site_card())


def entry_card(request, public_id):
    """/cards/entry/<public_id>.png: a published entry's card; 404 otherwise."""
    return png(social.entry_card(pages.get_published_entry(public_id)))


def company_card(request, slug):
    """/cards/company/<slug>.png"""
    company = Company.objects.filter(slug=slug).first()
    if company is None:
        raise Http404("No company has this slug.")
    return png(social.company_card(company))


def country_card(request, iso2):
    """/cards/country/<iso2>.png (any letter case)."""
    return png(social.country_card(profiles.find_country(iso2)))
