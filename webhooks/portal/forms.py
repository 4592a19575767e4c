"""The webhook URL form; D26 safety is the service's job (``invalid_webhook_url``)."""

import re

from django import forms

from jopay_project.errors import ErrorCode
from jopay_project.forms import FocusFirstInvalid

_SURROGATE = re.compile("[\ud800-\udfff]")


class _UrlField(forms.CharField):
    def prepare_value(self, value):
        # A multipart post may name a charset (``unicode_escape``) that decodes
        # to a lone surrogate. The service refuses such a URL (D26), but the
        # page shows the form again with the value typed, and a surrogate
        # cannot be encoded into the response: show U+FFFD in its place.
        value = super().prepare_value(value)
        return _SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value


class WebhookUrlForm(FocusFirstInvalid, forms.Form):
    url = _UrlField(
        label="Endpoint URL",
        required=False,
        max_length=2000,
        widget=forms.URLInput(
            attrs={"placeholder": "https://example.com/jopay/webhooks"}
        ),
    )

    def clean(self):
        cleaned = super().clean()
        if self.is_bound and "url" not in self.data:
            # An empty field removes the URL (sending off, pending deliveries
            # abandoned); a post without the field at all must not do that.
            self.add_error(
                "url",
                forms.ValidationError(
                    "Type the endpoint URL, or leave the field empty to remove it.",
                    code=ErrorCode.INVALID_REQUEST.value,
                ),
            )
        return cleaned
