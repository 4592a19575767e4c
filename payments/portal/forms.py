"""Filter and proof forms of the requests pages (shape only; services judge)."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, time, timedelta

from django import forms

from jopay_project.formats import parse_uuid_text
from jopay_project.forms import FocusFirstInvalid
from payments.models import PaymentRequest

PR = PaymentRequest


def _choices(enum) -> list[tuple[str, str]]:
    return [("", "Any"), *[(v, v) for v in enum.values]]


class RequestFilterForm(forms.Form):
    status = forms.ChoiceField(choices=_choices(PR.Status), required=False)
    proof_status = forms.ChoiceField(
        choices=_choices(PR.ProofStatus), required=False, label="Proof"
    )
    merchant = forms.ChoiceField(choices=[("", "Any")], required=False)
    created_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    # "UTC, inclusive" is in the page's label: a help_text the filter bar does
    # not show left the field described by an id that is not on the page.
    created_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    cursor = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)

    def __init__(self, *args, merchants=(), merchant_by_id=False, **kwargs):
        """``merchants``: the choices, or with ``merchant_by_id`` (a partner with
        too many merchants for a list) the one asked for if it is the tenant's:
        the filter is then a text field taking the merchant's id."""
        super().__init__(*args, **kwargs)
        self.merchant_by_id = merchant_by_id
        if merchant_by_id:
            self.fields["merchant"] = forms.CharField(
                required=False,
                max_length=64,
                widget=forms.TextInput(
                    attrs={
                        "placeholder": "Merchant id",
                        "spellcheck": "false",
                        "autocomplete": "off",
                    }
                ),
            )
            self.merchant_ids = {str(m.pk) for m in merchants}
            self.merchant_names = {str(m.pk): m.name for m in merchants}
            return
        self.fields["merchant"].choices = [
            ("", "Any"),
            *[(str(m.pk), m.name) for m in merchants],
        ]

    def clean_merchant(self) -> str:
        value = self.cleaned_data.get("merchant") or ""
        if not self.merchant_by_id or not value:
            return value
        with contextlib.suppress(ValueError):
            value = str(parse_uuid_text(value))
        if value not in self.merchant_ids:
            raise forms.ValidationError(
                "No merchant of yours has this id.", code="invalid_choice"
            )
        return value

    def clean(self):
        cleaned = super().clean()
        after, to = cleaned.get("created_from"), cleaned.get("created_to")
        if after and to and to < after:
            # An empty list here read as "no payments in those days".
            self.add_error(
                "created_to",
                forms.ValidationError(
                    "The range ends before it starts: To must be on or after From.",
                    code="invalid_request",
                ),
            )
        return cleaned

    @property
    def merchant_name(self) -> str:
        """The name of the merchant filtered on, when typed as an id."""
        if not self.merchant_by_id or not self.is_valid():
            return ""
        return self.merchant_names.get(self.cleaned_data.get("merchant"), "")

    def selector_filters(self) -> dict:
        """Keyword arguments for ``payment_request_list`` (D34: after inclusive,
        before exclusive, so "to" becomes the next day's midnight)."""
        data = self.cleaned_data
        after = data.get("created_from")
        to = data.get("created_to")
        if to == date.max:  # no next midnight to stop before: no upper bound
            to = None
        return {
            "status": data.get("status") or None,
            "proof_status": data.get("proof_status") or None,
            "merchant_id": data.get("merchant") or None,
            "created_after": datetime.combine(after, time.min, tzinfo=UTC)
            if after
            else None,
            "created_before": datetime.combine(
                to + timedelta(days=1), time.min, tzinfo=UTC
            )
            if to
            else None,
        }


class AttachProofForm(FocusFirstInvalid, forms.Form):
    """Both fields are passed to ``proof_attach`` as typed: it answers with the
    registry code (``invalid_tx_hash``, ``unsupported_chain``), not the form."""

    chain_id = forms.CharField(label="Chain", required=False, widget=forms.Select)
    tx_hash = forms.CharField(
        label="Transaction hash",
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"placeholder": "0x…", "spellcheck": "false", "autocomplete": "off"}
        ),
    )

    def __init__(self, *args, chains=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["chain_id"].widget.choices = [
            (str(c.chain_id), f"{c.name} ({c.chain_id})") for c in chains
        ]
