from django.urls import path

from techmap.contributions import submit_views

urlpatterns = [
    path("submit/", submit_views.submit, name="submit"),
    path("submit/thanks/", submit_views.submit_thanks, name="submit-thanks"),
]
