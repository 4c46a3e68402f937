from django.apps import AppConfig


class SourcecheckConfig(AppConfig):
    name = "techmap.sourcecheck"
    verbose_name = "Source health"
