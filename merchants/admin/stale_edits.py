"""A change form refuses to save over what changed after staff opened it.

The admin page posts back every field it showed. A field that changed since
the page was drawn (the merchant finished onboarding and set its wallet, the
partner edited its settings in the portal, an API PATCH, another member of
staff) came back with the old value, which Django's ``changed_data`` then
reads as staff's own edit: the save silently undid it, and a lost wallet
revived a used onboarding link (D28). Saving only ``changed_data``
(``MerchantAdmin.save_model``) cannot tell the two apart; this can.

The page carries a fingerprint of the editable fields as it drew them; the
POST compares it with the row as it reads it then, and a difference sends the
form back with a one-line reason instead of saving.
"""

from __future__ import annotations

import hashlib

from django import forms

FIELD = "loaded_as"
STALE_MESSAGE = (
    "This {model} was changed elsewhere (the onboarding page, the API, the "
    "portal or another member of staff) after you opened this page. Nothing "
    "was saved: reload the page to see the current values, then make your "
    "change again."
)


def fingerprint(instance, names) -> str:
    """A digest of ``instance``'s values of the model fields among ``names``
    (a form's own fields: read-only columns a worker stamps are no conflict)."""
    fields = {f.name: f for f in instance._meta.concrete_fields}
    digest = hashlib.sha256()
    for name in sorted(n for n in names if n in fields):
        digest.update(f"{name}={fields[name].value_to_string(instance)!r};".encode())
    return digest.hexdigest()


class StaleEditGuardForm(forms.ModelForm):
    """Base of an admin change form: refuse a POST drawn from an older row.

    List ``loaded_as`` in the admin's fieldsets (a hidden input) so the page
    sends it back. A POST without it (an old tab, a script) is refused too:
    a guard that only checks a field when it is sent guards nothing. An add
    form has no row to guard. ``fingerprinted`` names what a change counts in.
    """

    loaded_as = forms.CharField(required=False, widget=forms.HiddenInput)
    stale_name: str | None = None  # in the message; the model's name if None

    def fingerprinted(self) -> list[str]:
        """The fields whose change since the page was drawn refuses a save."""
        return list(self.fields)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._stored, self._loaded = None, {}
        if self.instance.pk is None:
            return  # an add form: no row to guard
        # The row as read for this page (GET) or this POST, before the form
        # writes anything to the instance. A form sent back keeps the
        # fingerprint it was posted with, so sending it again without a
        # reload is refused again.
        self._loaded = {
            f.name: f.value_from_object(self.instance)
            for f in self.instance._meta.concrete_fields
        }
        # Without the field (a view-only page: every field read-only) there
        # is nothing to post, nor a save to refuse.
        if FIELD in self.fields:
            self._stored = fingerprint(self.instance, self.fingerprinted())
            self.fields[FIELD].initial = self._stored

    def columns_changed(self) -> list[str]:
        """The model columns whose value on the instance now differs from the
        row as read for this form: what a save must write, and nothing else."""
        now = self.instance
        return sorted(
            f.name
            for f in now._meta.concrete_fields
            if f.value_from_object(now) != self._loaded[f.name]
        )

    def clean(self):
        data = super().clean()
        sent = self.data.get(self.add_prefix(FIELD), "") if self.is_bound else ""
        if self._stored is not None and sent != self._stored:
            raise forms.ValidationError(
                STALE_MESSAGE.format(
                    model=self.stale_name or self.instance._meta.verbose_name
                ),
                code="stale",
            )
        return data
