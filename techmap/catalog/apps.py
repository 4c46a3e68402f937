from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "techmap.catalog"
    verbose_name = "Catalogue"
