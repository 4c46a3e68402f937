from django.contrib import admin
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.i18n import JavaScriptCatalog, set_language

from techmap.api.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    # The language switch is in every page's header. A CSRF token there would make every
    # page private and uncacheable; a forged request can only change a visitor's language.
    path("i18n/setlang/", csrf_exempt(set_language), name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["techmap.web"]), name="javascript-catalog"),
    path("download/", include("techmap.exchange.urls")),
    path("releases/", include("techmap.releases.urls")),
    path("ogc/", include("techmap.ogc.urls")),
    path("", include("techmap.contributions.urls")),
    path("", include("techmap.share.urls")),
    path("", include("techmap.web.urls")),
]
