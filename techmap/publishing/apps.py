from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "techmap.publishing"
    verbose_name = "Static publishing"
