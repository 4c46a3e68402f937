from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "techmap.web"
    verbose_name = "Public pages"
