from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "techmap.catalog"
    verbose_name = "Catalogue"

    def ready(self):
        # Connects the signal that gives history rows written by commands their reason.
        from techmap.catalog import history  # noqa: F401
