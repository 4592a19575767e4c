"""The webhook URL form; D26 safety is the service's job (``invalid_webhook_url``)."""

from django import forms


class WebhookUrlForm(forms.Form):
    url = forms.CharField(
        label="Endpoint URL",
        required=False,
        max_length=2000,
        widget=forms.URLInput(
            attrs={"placeholder": "https://example.com/jopay/webhooks"}
        ),
    )
