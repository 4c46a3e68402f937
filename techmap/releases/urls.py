"""Release pages and their frozen downloads, mounted at /releases/."""

from django.urls import path

from techmap.releases import views

app_name = "releases"
urlpatterns = [
    path("", views.release_list, name="list"),
    path("<str:name>/", views.release_detail, name="detail"),
    path("<str:name>/<str:filename>", views.release_download, name="download"),
]
