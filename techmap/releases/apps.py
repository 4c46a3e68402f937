from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "techmap.releases"
    verbose_name = "Releases"
