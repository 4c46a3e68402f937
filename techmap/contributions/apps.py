from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ContributionsConfig(AppConfig):
    name = "techmap.contributions"
    verbose_name = "Public contributions and moderation"

    def ready(self):
        from techmap.contributions.roles import create_roles_after_migrate

        post_migrate.connect(
            create_roles_after_migrate, sender=self, dispatch_uid="techmap-contributions-roles"
        )
