"""Portal display filters: stored codes and audit values in words.

Codes stay the contract (API, webhooks); a partner reading the portal gets a
sentence, with the code alongside where a developer may need to look it up.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django import template

from jopay_project.errors import ErrorCode
from payments.money import SUPPORTED_CURRENCIES, format_minor
from payments.pay.presenters import MISMATCH_TEXT

register = template.Library()

# Why JoPay switched an endpoint's sending off (WebhookEndpoint.DisabledReason).
ENDPOINT_DISABLED_TEXT = {
    "endpoint_gone": "your endpoint answered 410 Gone",
    "failing_too_long": "no delivery succeeded for 5 days",
    "disabled_by_partner": "switched off in the portal or over the API",
    "disabled_by_staff": "switched off by JoPay staff (contact JoPay support to "
    "learn why)",
}

# Why a delivery was given up (WebhookDelivery.AbandonedReason).
ABANDONED_TEXT = {
    "redirect_not_followed": "answered with a redirect, which is never followed",
    "client_error": "answered 4xx, which is not retried",
    "endpoint_gone": "answered 410 Gone",
    "endpoint_disabled": "sending was switched off",
    "unsafe_url": "the URL resolves to a non-public address",
    "event_purged": "the event was purged",
}


@register.filter
def endpoint_disabled_text(code: str) -> str:
    return ENDPOINT_DISABLED_TEXT.get(code or "", code or "")


@register.filter
def abandoned_text(code: str) -> str:
    return ABANDONED_TEXT.get(code or "", code or "")


@register.filter
def mismatch_text(code: str) -> str:
    text = MISMATCH_TEXT.get(code or "", "")
    return text[:1].upper() + text[1:] if text else (code or "")


@register.filter
def error_text(code: str) -> str:
    """A registry code's human message (a recurring charge's failure)."""
    try:
        return ErrorCode(code).message
    except ValueError:
        return code or ""


def _value(value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_value(v)}" for k, v in value.items())
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-":
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return value
        if when.tzinfo is not None:
            return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


@register.filter
def audit_details(entry) -> list[tuple[str, str]]:
    """An audit entry's details as (name, text) pairs, without Python reprs.

    ``settings.updated`` stores ``[before, after]`` per setting: "before → after".
    """
    details = entry.details or {}
    if entry.action == "settings.updated":
        return _settings_pairs(details)
    return [(key, _value(value)) for key, value in details.items()]


_LIMITS = ("min_fiat_per_request", "max_fiat_per_request")


def _settings_pairs(details: dict) -> list[tuple[str, str]]:
    """Limits read in their currency, before and after: "2.50 EUR → 5.00 EUR".

    A limit is minor units of the default currency at the time (D35): the
    entry carries that currency as ``default_currency`` when it changed too,
    else as ``limits_currency``. An entry written before either was recorded
    says "minor units" rather than guess from today's currency.
    """
    currencies = details.get("default_currency")
    if not (isinstance(currencies, list) and len(currencies) == 2):
        currency = details.get("limits_currency")
        currencies = [currency, currency]
    pairs = []
    for key, value in details.items():
        if key == "limits_currency":
            continue
        if not (isinstance(value, list) and len(value) == 2):
            pairs.append((key, _value(value)))
            continue
        if key in _LIMITS:
            value = [_limit(v, c) for v, c in zip(value, currencies, strict=True)]
        pairs.append((key, f"{_value(value[0])} → {_value(value[1])}"))
    return pairs


def _limit(amount, currency) -> str | None:
    if amount is None or isinstance(amount, bool) or not isinstance(amount, int):
        return amount
    if currency in SUPPORTED_CURRENCIES:
        return f"{format_minor(amount, currency)} {currency}"
    return f"{amount} (minor units)"
