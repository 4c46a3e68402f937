"""Edit conflicts: a ModelForm mixin that refuses to save over someone else's newer save.

The form carries the version the editor started from in a hidden field. Validation compares
it with the row's version (locking the row when inside a transaction, as the admin's change
view is), and the save claims the row atomically with UPDATE ... WHERE version = expected
(see techmap.catalog.models.Versioned). Used by the admin; usable by any editing form:

    class EntryEditForm(VersionedModelFormMixin, forms.ModelForm):
        class Meta: ...
"""

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction

CONFLICT_MESSAGE = (
    "This {name} was changed by someone else since you opened it: reload to see their changes."
)


def conflict_message(model) -> str:
    """The message shown to the second of two editors saving the same row."""
    return CONFLICT_MESSAGE.format(name=model._meta.verbose_name)


def current_version(model, pk, *, lock: bool = False):
    """The row's version in the database (None if it is gone); lock it when asked and able."""
    rows = model._base_manager.filter(pk=pk)
    if lock and transaction.get_connection(rows.db).in_atomic_block:
        rows = rows.select_for_update()
    return rows.values_list("version", flat=True).first()


class VersionedModelFormMixin(forms.Form):
    """Adds the hidden `base_version` field and the conflict check to a ModelForm."""

    base_version = forms.IntegerField(
        widget=forms.HiddenInput, required=False, min_value=0, label="Version opened"
    )
    # True when the form is opened on an old copy of the row (reverting to a past version):
    # the editor then starts from the database's current version, not the copy's.
    base_version_from_database = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        if instance.pk is not None:
            version = instance.version
            if self.base_version_from_database:
                version = current_version(type(instance), instance.pk)
            self.fields["base_version"].initial = version

    def clean(self):
        cleaned = super().clean()
        instance = self.instance
        if instance.pk is None or instance._state.adding:
            return cleaned
        base = cleaned.get("base_version")
        if base is None:
            raise ValidationError(
                "The form does not say which version you started from: reload the page.",
                code="version_missing",
            )
        if current_version(type(instance), instance.pk, lock=True) != base:
            raise ValidationError(conflict_message(type(instance)), code="version_conflict")
        instance._expected_version = base
        return cleaned


class VersionedModelForm(VersionedModelFormMixin, forms.ModelForm):
    """A ModelForm with conflict detection; the admin's default form for versioned models."""
