from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "techmap.api"
    verbose_name = "JSON API"
