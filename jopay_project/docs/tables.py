"""Markdown tables generated from the code, so the docs cannot drift from it (D3).

Each function returns a Markdown table (and at most a sentence around it)
built from the one place in the code that decides the thing it shows. Cell
text is escaped: ``<key>`` in a message stays text, and a ``|`` cannot split
a cell.
"""

from __future__ import annotations

from html import escape

from django.conf import settings

from jopay_project.errors import REGISTRY
from jopay_project.ratelimits import LIMITS
from merchants.models import ApiKey
from payments.chain.defaults import CONFIRMATIONS_LOCAL, DEFAULT_CHAINS
from payments.money import EXPONENTS, format_minor
from webhooks.models import WebhookEvent

from .endpoints import api_operations, rate_text

# What each event means for a receiver. The event types themselves come from
# WebhookEvent.Type; a type without a line here still renders (with "—") and
# tests/docs fails until someone writes one.
EVENT_NOTES: dict[str, str] = {
    WebhookEvent.Type.PROOF_ATTACHED: (
        "A transaction hash was attached to a request (pay page, portal, or the "
        "chain watcher) and is being checked. Not a payment yet."
    ),
    WebhookEvent.Type.PROOF_VERIFIED: (
        "The transfer is confirmed on-chain and matches the request. "
        "The only event that means *paid*; carries the on-chain evidence."
    ),
    WebhookEvent.Type.PROOF_MISMATCH: (
        "The attached transaction does not pay the request; "
        "`mismatch_reason` says why. A new proof may still be attached."
    ),
    WebhookEvent.Type.REQUEST_EXPIRED: (
        "The request passed `expires_at` with no proof pending."
    ),
    WebhookEvent.Type.REQUEST_CANCELLED: (
        "The request was cancelled (over the API, in the portal or by JoPay support)."
    ),
    WebhookEvent.Type.RECURRING_CHARGE_CREATED: (
        "A recurring plan's charge created a new payment request; "
        "carries its `pay_page_url`."
    ),
    WebhookEvent.Type.WEBHOOK_TEST: "Sent by `POST /api/v1/webhooks/test`.",
}


def cell(text: object) -> str:
    """Plain text made safe for one Markdown table cell."""
    return escape(str(text), quote=False).replace("|", "&#124;").replace("\n", " ")


def code(text: object) -> str:
    return f"`{text}`"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def errors_table() -> str:
    """Every registry code (D0, D3) in registry order: code, HTTP, meaning, remedy."""
    rows = [
        [code(error.value), str(spec.status), cell(spec.message), cell(spec.remedy)]
        for error, spec in REGISTRY.items()
    ]
    return _table(["Code", "HTTP", "Meaning", "What to do"], rows)


def rate_limits_table() -> str:
    """``LIMITS`` (D27): the route, its limit and what the counter is keyed on."""
    rows = [
        [code(limit.route), cell(rate_text(limit.rate)), cell(limit.per)]
        for limit in LIMITS.values()
    ]
    return _table(["Endpoint", "Limit", "Counted per"], rows)


def scopes_table() -> str:
    """Each ``ApiKey.Scope`` (D7) with the endpoints whose views require it."""
    by_scope: dict[str | None, list[str]] = {}
    for operation in api_operations():
        by_scope.setdefault(operation.scope, []).append(
            code(f"{operation.method} {operation.path}")
        )
    rows = [
        [code(scope.value), "<br>".join(by_scope.get(scope.value, [])) or "—"]
        for scope in ApiKey.Scope
    ]
    if by_scope.get(None):
        rows.append(["any key", "<br>".join(by_scope[None])])
    return _table(["Scope", "Endpoints it opens"], rows)


def duration_text(seconds: int) -> str:
    """``90`` → ``"1 min 30 s"``, ``18000`` → ``"5 h"``, ``0`` → ``"at once"``."""
    if seconds <= 0:
        return "at once"
    parts = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount} {unit}")
    return " ".join(parts)


def retry_schedule_table() -> str:
    """``JOPAY_WEBHOOK_RETRY_SCHEDULE`` (D24): attempts, delays, elapsed time."""
    schedule = list(settings.JOPAY_WEBHOOK_RETRY_SCHEDULE)
    rows = [["1", "at once (when the event is written)", "0"]]
    elapsed = 0
    for number, delay in enumerate(schedule, start=2):
        elapsed += delay
        rows.append([str(number), duration_text(delay), duration_text(elapsed)])
    total = len(schedule) + 1
    summary = (
        f"That is {total} attempts in all, the last one about "
        f"{duration_text(elapsed)} after the first (before jitter)."
    )
    table = _table(
        ["Attempt", "Delay after the previous attempt", "Time since the first"], rows
    )
    return f"{table}\n\n{summary}"


def event_types_table() -> str:
    """``WebhookEvent.Type`` (D23) with what each event means."""
    rows = [
        [code(value), EVENT_NOTES.get(value, "—")] for value in WebhookEvent.Type.values
    ]
    return _table(["Event", "Sent when"], rows)


def currencies_table() -> str:
    """The 28 display currencies grouped by minor-unit exponent (spec §9.1)."""
    by_exponent: dict[int, list[str]] = {}
    for currency, exp in sorted(EXPONENTS.items()):
        by_exponent.setdefault(exp, []).append(currency)
    rows = []
    for exp, currencies in sorted(by_exponent.items()):
        sample = next((c for c in ("EUR", "JPY") if c in currencies), currencies[0])
        example = f"`2500` = {format_minor(2500, sample)} {sample}"
        rows.append([str(exp), ", ".join(code(c) for c in currencies), cell(example)])
    return _table(["Minor-unit exponent", "Currencies", "Example"], rows)


def chains_table() -> str:
    """The chains JoPay ships (D19, D36): which mode accepts them and confirmations."""
    rows = [
        [
            cell(chain.name),
            str(chain.chain_id),
            "test" if chain.is_testnet else "live",
            str(chain.confirmations),
            code(chain.usdc_address),
        ]
        for chain in DEFAULT_CHAINS
    ]
    rows.append(
        [
            "a development node (`local`)",
            "any (31337 for `make run`)",
            "test",
            str(CONFIRMATIONS_LOCAL),
            "the token the operator registered",
        ]
    )
    return _table(["Chain", "Chain id", "Mode", "Confirmations", "USDC contract"], rows)
