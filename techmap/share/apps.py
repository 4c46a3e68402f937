from django.apps import AppConfig


class ShareConfig(AppConfig):
    name = "techmap.share"
    verbose_name = "Embedding and social cards"
