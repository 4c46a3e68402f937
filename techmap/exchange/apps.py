from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "techmap.exchange"
    verbose_name = "Data in and out"
