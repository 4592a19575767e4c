"""What the pay page and receipt show: reads and formatting only (no writes).

Amounts are formatted from integers with ``payments.money``; the EIP-681
payment URI carries the exact amount in the token's own units. A USDC amount
to read is grouped (``1,234,567.891234``); one to copy or pay is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import segno
from django.utils.safestring import SafeString, mark_safe

from jopay_project.formats import iso, parse_uuid_text, wait_in_words  # noqa: F401  (re-exported)
from merchants.validation import MEMO_KEEPS, shown_text
from payments.chain.verify import from_micro
from payments.models import Chain, PaymentRequest
from payments.money import format_minor, format_usdc, group_usdc
from payments.pay.add_chain import add_chain_params, explorer_origin
from payments.proofs.services import accepts_proofs
from payments.return_urls import shown_return_url

PR = PaymentRequest


def find_request(request_id: str) -> PaymentRequest | None:
    """The request behind a public link, or None for a malformed or unknown id."""
    try:
        pk = parse_uuid_text(request_id)  # D1: one spelling, one URL
    except ValueError:
        return None
    return PR.objects.select_related("merchant", "partner").filter(pk=pk).first()


def accepted_chains(request: PaymentRequest) -> list[Chain]:
    """Usable chains the request's mode may be paid on (D19)."""
    return [
        c
        for c in Chain.objects.filter(enabled=True).order_by("chain_id")
        if c.is_usable and c.accepts(test_mode=request.test_mode)
    ]


def eip681_uri(*, chain: Chain, receiving_address: str, usdc_micro: int) -> str:
    """``ethereum:<usdc>@<chainId>/transfer?address=<to>&uint256=<units>`` (EIP-681)."""
    units = from_micro(usdc_micro, chain.decimals)
    return (
        f"ethereum:{chain.usdc_address}@{chain.chain_id}/transfer"
        f"?address={receiving_address}&uint256={units}"
    )


def qr_svg(data: str) -> SafeString:
    # segno writes the SVG itself from a URI we built from checked values.
    svg = segno.make(data, error="m").svg_inline(scale=4, dark="#0f172a", border=2)
    return mark_safe(svg)  # noqa: S308


def explorer_link(chain: Chain | None, tx_hash: str | None) -> str | None:
    """The transaction's block explorer page (receipt, portal), or None.

    Only an https template with a plain host (``explorer_origin``, as the
    wallet's ``blockExplorerUrls``): the admin's free text field took
    ``javascript:``, ``data:``, ``http:`` and ``user@host`` look-alikes, each
    linked as the transaction on every receipt.
    """
    template = (chain.explorer_tx_url or "") if chain is not None else ""
    if not tx_hash or "{tx}" not in template or explorer_origin(template) is None:
        return None
    return template.replace("{tx}", tx_hash)


@dataclass(frozen=True)
class ChainOption:
    chain_id: int
    name: str
    usdc_address: str
    amount_units: str
    uri: str
    qr: SafeString
    # wallet_addEthereumChain's parameter, only with a public RPC URL (add_chain.py).
    add_chain: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        data = {
            "chain_id": self.chain_id,
            "hex_chain_id": hex(self.chain_id),
            "name": self.name,
            "usdc_address": self.usdc_address,
            "amount_units": self.amount_units,
        }
        if self.add_chain:
            data["add_chain"] = self.add_chain
        return data


def shown_logo(url: str) -> str | None:
    """The partner's logo URL if the pages' policy lets it load (``img-src``
    takes https only): an http or ftp one, which the admin's URL field takes,
    drew a broken image beside the partner's name on every page."""
    return url if (url or "").lower().startswith("https://") else None


def branding(request: PaymentRequest) -> dict[str, Any]:
    partner = request.partner
    return {
        # D22: as the merchant's name: a name stored before the rule may hold
        # a bidi override, which would turn the text after it around.
        "partner_name": shown_text(partner.name),
        "logo_url": shown_logo(partner.logo_url),
        "brand_color": partner.primary_color,
        "brand_color_2": partner.secondary_color,
    }


def page_state(request: PaymentRequest, *, now: datetime) -> str:
    """One word for the template: paid, verifying, cancelled, closed or open."""
    if request.proof_status == PR.ProofStatus.VERIFIED:
        return "paid"
    if request.proof_status == PR.ProofStatus.ATTACHED:
        return "verifying"
    if request.status == PR.Status.CANCELLED:
        return "cancelled"
    if not accepts_proofs(request, now=now):
        return "closed"
    # Expired from expires_at itself, as the expiry job, cancel and the script
    # (``t >= expiresAt``) count it (D16).
    if request.status == PR.Status.EXPIRED or now >= request.expires_at:
        return "grace"  # expired, but a hash of an earlier payment is still taken
    return "open"


# The badge's look for each page state, from the shared badge classes.
BADGE_TONES = {
    "paid": "ok",
    "verifying": "warn",
    "cancelled": "bad",
    "closed": "bad",
    "grace": "bad",
    "open": "",
}


# What a customer reads for each D20 mismatch; ``static/pay/words.js`` has the
# same texts (REASONS) for what it draws itself, and a test keeps them equal.
MISMATCH_TEXT = {
    PaymentRequest.MismatchReason.TX_FAILED: "the transaction failed on-chain",
    PaymentRequest.MismatchReason.WRONG_TOKEN: "it did not transfer USDC",
    PaymentRequest.MismatchReason.WRONG_RECIPIENT: (
        "the USDC went to another address or paid another request"
    ),
    PaymentRequest.MismatchReason.UNDERPAID: "the amount was lower than requested",
    # D20 `late`: mined outside the payment window, either end (after
    # expires_at + grace, or before the request existed: an old transfer).
    PaymentRequest.MismatchReason.LATE: (
        "it was not sent while this request was open for payment"
    ),
    PaymentRequest.MismatchReason.NOT_FOUND_AFTER_TIMEOUT: (
        "we could not find it on-chain"
    ),
}


# A refused hash, in the customer's words (``words.js`` ERRORS, kept equal).
PROOF_ERROR_TEXT = {
    "invalid_tx_hash": (
        "That is not a transaction hash (0x followed by 64 hex characters)."
    ),
    "unsupported_chain": "That network is not accepted for this payment.",
    "proof_already_used": "That transaction already paid another request.",
    "proof_not_accepted": "This request no longer accepts payments.",
    "rate_limited": "Too many attempts. Please wait a little and try again.",
    "not_found": "This payment link is not valid.",
}


# A rate-limited no-script post, with the wait the counters still hold (D27).
RATE_LIMITED_WAIT_TEXT = "Too many attempts. Please try again in {wait}."


# The form field a refused hash's code is about: the page marks it
# ``aria-invalid`` and points it at the error (``fields.js`` INVALID_FIELD, kept
# equal).
PROOF_ERROR_FIELD = {
    "invalid_tx_hash": "tx_hash",
    "proof_already_used": "tx_hash",
    "unsupported_chain": "chain_id",
}


def pay_context(request: PaymentRequest, *, now: datetime) -> dict[str, Any]:
    chains = accepted_chains(request)
    options = [
        ChainOption(
            chain_id=c.chain_id,
            name=c.name,
            usdc_address=c.usdc_address,
            amount_units=str(from_micro(request.usdc_micro, c.decimals)),
            uri=(
                uri := eip681_uri(
                    chain=c,
                    receiving_address=request.receiving_address,
                    usdc_micro=request.usdc_micro,
                )
            ),
            qr=qr_svg(uri),
            add_chain=add_chain_params(c),
        )
        for c in chains
    ]
    state = page_state(request, now=now)
    return {
        **branding(request),
        "pr": request,
        "merchant_name": shown_text(request.merchant.name),
        "memo": shown_text(request.memo, keep=MEMO_KEEPS),
        "fiat": format_minor(request.fiat_int, request.fiat_code),
        "usdc": group_usdc(request.usdc_micro),
        # What the Copy button copies: the exact text, no grouping.
        "usdc_exact": format_usdc(request.usdc_micro),
        # A paid page says what arrived, which an overpayment makes more.
        "usdc_received": group_usdc(request.received_micro),
        "chains": options,
        "state": state,
        "badge_tone": BADGE_TONES[state],
        # A past deadline is labelled "Expired", never "Pay before <past time>".
        "deadline_passed": now >= request.expires_at,
        "mismatch_text": MISMATCH_TEXT.get(request.mismatch_reason, ""),
        # "Back to shop" (D35): the stored value as a URI, or no link.
        "return_url": shown_return_url(request.return_url),
        # An underpayment reached the merchant's wallet: paying the full amount
        # again would pay twice. The customer talks to the merchant first.
        "underpaid": request.mismatch_reason == PaymentRequest.MismatchReason.UNDERPAID,
        # The hash form is on the page (open or grace, with a usable chain).
        "proof_form": state in ("open", "grace") and bool(options),
        "config": {
            "request_id": str(request.pk),
            "merchant_name": shown_text(request.merchant.name),
            "state": state,
            "status": request.status,
            "proof_status": request.proof_status,
            "tx_hash": request.tx_hash,
            "mismatch_reason": request.mismatch_reason,
            # The script counts down from the server's clock, not the device's
            # (a phone's clock may be minutes off): it only uses the differences.
            "now": iso(now),
            "expires_at": iso(request.expires_at),
            "proof_deadline": iso(request.proof_deadline),
            "receiving_address": request.receiving_address,
            "usdc_micro": str(request.usdc_micro),
            # The exact decimal text: the script never divides money in float,
            # and groups it only to show it (format.js groupUsdc).
            "usdc_text": format_usdc(request.usdc_micro),
            "chains": [o.as_json() for o in options],
            "status_url": f"/pay/{request.pk}/status",
            "proof_url": f"/pay/{request.pk}/proof",
        },
    }


def receipt_context(request: PaymentRequest) -> dict[str, Any]:
    chain = Chain.objects.filter(pk=request.chain_id).first()
    evidence = request.evidence or {}
    return {
        **branding(request),
        "pr": request,
        "merchant_name": shown_text(request.merchant.name),
        "memo": shown_text(request.memo, keep=MEMO_KEEPS),
        "fiat": format_minor(request.fiat_int, request.fiat_code),
        "usdc": group_usdc(request.usdc_micro),
        "usdc_sent": group_usdc(request.received_micro),
        "chain_name": chain.name if chain else str(request.chain_id),
        "explorer_url": explorer_link(chain, request.tx_hash),
        "return_url": shown_return_url(request.return_url),
        # <time datetime> (D1); the text is UTC, format.js shows it locally.
        "verified_at_iso": iso(request.verified_at),
        "evidence": evidence,
    }
