"""The map page. Points, counts and details come from the JSON API through map.js."""

from django.conf import settings
from django.shortcuts import render

from techmap.catalog import names
from techmap.catalog.models import Category, Company, Country, Entry, Topic
from techmap.share.social import site_meta


def map_page(request, template_name="web/map.html"):
    """The map `/`: filter form rendered here, points, counts and details loaded by map.js.

    The embed view (techmap.share) renders the same context into its chrome-less template.
    """
    published = Entry.objects.published()
    categories = list(Category.objects.order_by("position", "name"))
    selected = {name: request.GET.getlist(name) for name in ("company", "category", "topic")}
    selected["country"] = [v.upper() for v in request.GET.getlist("country")]
    context = {
        "companies": Company.objects.order_by("name"),
        "categories": categories,
        "countries": Country.objects.filter(entries__in=published).distinct().order_by("name"),
        "topics": Topic.objects.order_by("name"),
        "selected": selected,
        "year_from": request.GET.get("year_from", ""),
        "year_to": request.GET.get("year_to", ""),
        "q": request.GET.get("q", ""),
        # Set only by techmap publish-static (a WSGI key no HTTP header can produce): the
        # map then answers its API calls from the published files (static-api.js).
        "static_api_url": request.META.get("techmap.static_api_url", ""),
        "social": site_meta(request),
        "map_config": {
            "tileUrl": settings.TECHMAP["TILE_URL"],
            "tileAttribution": settings.TECHMAP["TILE_ATTRIBUTION"],
            # Named in the page's language: the legend shows these names.
            "categories": [
                {"slug": c.slug, "name": names.label_of(c), "color": c.color} for c in categories
            ],
        },
    }
    return render(request, template_name, context)
