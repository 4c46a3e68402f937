"""The staff roles: groups with permissions created by migrate, and what each may do."""

import pytest
from django.contrib.auth.models import Group

from techmap.catalog.models import Entry
from techmap.contributions.roles import (
    ADMIN,
    CONTRIBUTOR,
    EDITOR,
    ROLES,
    assign_role,
    ensure_roles,
)


def permissions_of(role: str) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in Group.objects.get(name=role).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


@pytest.fixture
def user_in(django_user_model):
    def make(role: str):
        user = django_user_model.objects.create_user(f"{role}-user", password="pw")
        assign_role(user, role)
        return django_user_model.objects.get(pk=user.pk)  # fresh permission cache

    return make


def test_migrate_created_the_three_groups(db):
    assert set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True)) == set(ROLES)


def test_contributor_views_the_catalogue_and_proposes_but_changes_nothing(db):
    perms = permissions_of(CONTRIBUTOR)
    assert {
        "catalog.view_entry",
        "catalog.view_company",
        "catalog.view_source",
        "contributions.add_submission",
    } <= perms
    assert not {
        p for p in perms if p.startswith(("catalog.change_", "catalog.add_", "catalog.delete_"))
    }
    assert "contributions.review_submission" not in perms


def test_editor_reviews_and_edits_entries_but_not_the_taxonomy(db):
    perms = permissions_of(EDITOR)
    assert {
        "contributions.review_submission",
        "contributions.change_submission",
        "catalog.add_entry",
        "catalog.change_entry",
        "catalog.add_source",
        "catalog.change_source",
        "catalog.add_entrysource",
        "catalog.change_entrysource",
        "catalog.view_company",
        "catalog.view_category",
        "catalog.view_topic",
        "catalog.view_country",
    } <= perms
    assert "catalog.change_company" not in perms
    assert "catalog.change_category" not in perms
    assert "catalog.delete_entry" not in perms
    assert "auth.change_user" not in perms
    assert permissions_of(CONTRIBUTOR) <= perms


def test_admin_has_every_permission_on_catalogue_contributions_releases_and_users(db):
    perms = permissions_of(ADMIN)
    assert {
        "catalog.delete_entry",
        "catalog.change_category",
        "catalog.change_company",
        "contributions.review_submission",
        "contributions.delete_submission",
        "auth.add_user",
        "auth.change_user",
        "auth.change_group",
    } <= perms
    assert any(p.startswith("releases.") for p in perms)
    assert permissions_of(EDITOR) <= perms


def test_ensure_roles_is_idempotent_and_repairs_a_changed_group(db):
    before = {role: permissions_of(role) for role in ROLES}
    editor = Group.objects.get(name=EDITOR)
    editor.permissions.clear()
    ensure_roles()
    counts = ensure_roles()
    assert {role: permissions_of(role) for role in ROLES} == before
    assert counts == {role: len(before[role]) for role in ROLES}
    assert Group.objects.filter(name__in=ROLES).count() == 3


def test_assign_role_makes_staff_and_keeps_one_role(db, user_in):
    user = user_in(CONTRIBUTOR)
    assert user.is_staff
    assign_role(user, EDITOR)
    assert list(user.groups.values_list("name", flat=True)) == [EDITOR]
    with pytest.raises(ValueError, match="Unknown role"):
        assign_role(user, "overlord")


def entry_change_url(entry) -> str:
    return f"/admin/catalog/entry/{entry.pk}/change/"


def test_an_editor_can_open_and_save_an_entry_in_the_admin(client, bundled, user_in):
    entry = Entry.objects.published().first()
    client.force_login(user_in(EDITOR))
    response = client.get(entry_change_url(entry))
    assert response.status_code == 200
    assert 'name="_save"' in response.content.decode()


def test_a_contributor_sees_an_entry_read_only_and_cannot_change_it(client, bundled, user_in):
    entry = Entry.objects.published().first()
    contributor = user_in(CONTRIBUTOR)
    assert contributor.has_perm("catalog.view_entry")
    assert not contributor.has_perm("catalog.change_entry")
    client.force_login(contributor)
    response = client.get(entry_change_url(entry))
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()
    response = client.post(entry_change_url(entry), {"title": "Vandalised"})
    assert response.status_code == 403
    assert Entry.objects.get(pk=entry.pk).title == entry.title


def test_an_editor_cannot_change_a_company_or_manage_users(client, bundled, user_in):
    client.force_login(user_in(EDITOR))
    assert client.get("/admin/auth/user/").status_code == 403
    company = Entry.objects.published().first().companies.first()
    response = client.get(f"/admin/catalog/company/{company.pk}/change/")
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()


def test_an_admin_can_manage_users(client, bundled, user_in):
    client.force_login(user_in(ADMIN))
    assert client.get("/admin/auth/user/").status_code == 200
    assert client.get("/admin/contributions/submission/").status_code == 200
