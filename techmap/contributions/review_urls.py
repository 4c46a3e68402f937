from django.urls import path

from techmap.contributions import review_views

urlpatterns = [
    path("", review_views.review_list, name="review-list"),
    path("bulk-reject/", review_views.review_bulk_reject, name="review-bulk-reject"),
    path("<int:pk>/", review_views.review_detail, name="review-detail"),
    path("<int:pk>/accept/", review_views.review_accept, name="review-accept"),
    path("<int:pk>/merge/", review_views.review_merge, name="review-merge"),
    path("<int:pk>/duplicate/", review_views.review_duplicate, name="review-duplicate"),
    path("<int:pk>/reject/", review_views.review_reject, name="review-reject"),
]
