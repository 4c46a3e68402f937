"""The three staff roles, as Django groups with permissions. Created on every `migrate`.

contributor
    Reads the whole catalogue in the admin (view on every catalog model) and proposes
    new data as a Submission (add_submission / view_submission). Cannot change entries.
editor
    Everything a contributor may do, plus: reviews public submissions
    (review_submission, change_submission), adds and edits entries, sources and the
    links between them (add/change entry, source, entrysource; delete entrysource to
    drop a citation from an entry). Companies, categories, topics and countries are
    view-only: the taxonomy is the admins' job.
admin
    Every permission on the catalog, contributions and releases apps and on users and
    groups (auth): users, taxonomy, releases.

A role gives permissions only; a person also needs is_staff to open the admin
(`assign_role` sets it). `ensure_roles` is idempotent: it adds missing permissions and
removes ones a role should not have, so editing this file and migrating updates the
groups. Permissions added by hand to these three groups are therefore reset by migrate.
"""

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.management import create_contenttypes
from django.db.models import Q

CONTRIBUTOR, EDITOR, ADMIN = "contributor", "editor", "admin"
ROLES = (CONTRIBUTOR, EDITOR, ADMIN)

CATALOG_MODELS = ("entry", "source", "entrysource", "company", "category", "topic", "country")
# "app_label.codename" for each role beyond the view permissions on the catalog.
CONTRIBUTOR_PERMISSIONS = {"contributions.add_submission", "contributions.view_submission"}
EDITOR_PERMISSIONS = CONTRIBUTOR_PERMISSIONS | {
    "contributions.review_submission",
    "contributions.change_submission",
    "catalog.add_entry",
    "catalog.change_entry",
    "catalog.add_source",
    "catalog.change_source",
    "catalog.add_entrysource",
    "catalog.change_entrysource",
    "catalog.delete_entrysource",
}
ADMIN_APPS = ("catalog", "contributions", "releases", "auth")


def _catalog_view_permissions():
    return Q(content_type__app_label="catalog", codename__startswith="view_")


def _by_names(names: set[str]) -> Q:
    query = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    return query


def role_permissions(role: str):
    """The Permission queryset a role should hold."""
    if role == CONTRIBUTOR:
        query = _catalog_view_permissions() | _by_names(CONTRIBUTOR_PERMISSIONS)
    elif role == EDITOR:
        query = _catalog_view_permissions() | _by_names(EDITOR_PERMISSIONS)
    elif role == ADMIN:
        query = Q(content_type__app_label__in=ADMIN_APPS)
    else:
        raise ValueError(f"Unknown role {role!r}; the roles are {', '.join(ROLES)}.")
    return Permission.objects.filter(query)


def ensure_roles(using: str = "default", verbosity: int = 0) -> dict[str, int]:
    """Create or update the three groups; return {role: number of permissions}."""
    # Permissions of apps migrated in the same run may not exist yet: create them first.
    for app_label in ADMIN_APPS:
        config = apps.get_app_config(app_label)
        create_contenttypes(config, verbosity=0, using=using)
        create_permissions(config, verbosity=0, using=using)
    counts = {}
    for role in ROLES:
        group, _ = Group.objects.using(using).get_or_create(name=role)
        wanted = list(role_permissions(role).using(using))
        group.permissions.set(wanted)
        counts[role] = len(wanted)
        if verbosity >= 2:
            print(f"Role {role}: {len(wanted)} permissions")
    return counts


def assign_role(user, role: str):
    """Put a user in one role's group (and only that one) and let them open the admin."""
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; the roles are {', '.join(ROLES)}.")
    user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(name=role))
    user.groups.add(Group.objects.get(name=role))
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])


def create_roles_after_migrate(sender, using="default", verbosity=1, **kwargs):
    """post_migrate receiver."""
    ensure_roles(using=using, verbosity=verbosity)
