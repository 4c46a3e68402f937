from django.contrib import admin
from django.urls import include, path

from techmap.api.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("download/", include("techmap.exchange.urls")),
    path("releases/", include("techmap.releases.urls")),
    path("ogc/", include("techmap.ogc.urls")),
    path("", include("techmap.contributions.urls")),
    path("", include("techmap.share.urls")),
    path("", include("techmap.web.urls")),
]
