from django.http import HttpResponse


def map_page(request):
    return HttpResponse("techmap")
