from django.urls import include, path

app_name = "contributions"
urlpatterns = [
    path("", include("techmap.contributions.submit_urls")),
    path("review/", include("techmap.contributions.review_urls")),
]
