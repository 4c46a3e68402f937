from django.urls import path

from techmap.web import page_views, stats_views, views

app_name = "web"
urlpatterns = [
    path("", views.map_page, name="map"),
    path("entries/", page_views.entry_list, name="entry-list"),
    path("entries/<str:public_id>/", page_views.entry_detail, name="entry-detail"),
    path("companies/", page_views.company_list, name="company-list"),
    path("companies/<slug:slug>/", page_views.company_detail, name="company-detail"),
    path("countries/", page_views.country_list, name="country-list"),
    path("countries/<str:iso2>/", page_views.country_detail, name="country-detail"),
    path("stats/", stats_views.statistics, name="stats"),
    path("about/", page_views.about, name="about"),
    path("data/", page_views.data, name="data"),
]
