from django.apps import AppConfig


class OgcConfig(AppConfig):
    name = "techmap.ogc"
    label = "ogc"
    verbose_name = "OGC API - Features"
