from django.conf import settings


def site(request):
    """Values every template needs."""
    return {"TECHMAP": settings.TECHMAP}
