from django.urls import path

from techmap.share import views

app_name = "share"
urlpatterns = [
    path("embed/", views.embed_map, name="embed"),
    path("cards/site.png", views.site_card, name="card-site"),
    path("cards/entry/<str:public_id>.png", views.entry_card, name="card-entry"),
    path("cards/company/<slug:slug>.png", views.company_card, name="card-company"),
    path("cards/country/<str:iso2>.png", views.country_card, name="card-country"),
]
