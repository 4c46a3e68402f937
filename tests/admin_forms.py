"""Helpers for posting Django admin change forms as a browser would."""

from decimal import Decimal


def _widget_value(field, value):
    if isinstance(value, bool):
        return "on" if value else None
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    # BoundField.value() has already prepared the value for its widget.
    if isinstance(value, Decimal):
        return str(value)
    return value


def _add_form(data: dict, form):
    for name, field in form.fields.items():
        value = _widget_value(field, form[name].value())
        if value is None:
            continue
        data[form.add_prefix(name)] = value


def change_form_data(response) -> dict:
    """The POST data of the admin form rendered in response, with its inlines, unchanged."""
    data: dict = {}
    _add_form(data, response.context["adminform"].form)
    inlines = (
        response.context["inline_admin_formsets"]
        if "inline_admin_formsets" in response.context
        else []
    )
    for inline in inlines:
        formset = inline.formset
        _add_form(data, formset.management_form)
        for form in formset.forms:
            _add_form(data, form)
    return data
