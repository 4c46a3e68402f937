"""Downloads of the published entries, mounted at /download/."""

from django.urls import path

from techmap.exchange import views

app_name = "exchange"
urlpatterns = [
    path("entries.csv", views.download_csv, name="csv"),
    path("entries.xlsx", views.download_xlsx, name="xlsx"),
    path("entries.geojson", views.download_geojson, name="geojson"),
]
