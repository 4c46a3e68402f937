"""techmap's URLs plus /bench/hello, a bare Django JSON view (bench/hello_settings.py)."""

from django.http import JsonResponse
from django.urls import path

from techmap.urls import urlpatterns as techmap_urlpatterns


def hello(request):
    """The least a Django view can do: a constant JSON body."""
    return JsonResponse({"hello": "world"})


urlpatterns = [path("bench/hello", hello), *techmap_urlpatterns]
