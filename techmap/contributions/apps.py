from django.apps import AppConfig


class ContributionsConfig(AppConfig):
    name = "techmap.contributions"
    verbose_name = "Public contributions and moderation"
