"""The one error registry (decisions.md D0, D2, D3; spec/errors.md).

Every code JoPay can answer lives in ``ErrorCode`` with its HTTP status and a
default human message. Codes are contract: add, never rename. Services raise
``JoPayError`` (or a subclass); one DRF exception handler
(``jopay_project.exception_handler``) renders every failure, validation, auth,
throttling, 404, 405 and unexpected exceptions included, as
``{"ok": false, "error": "<code>", "message": "...", ...extra}``.
"""

from __future__ import annotations

from enum import StrEnum
from http import HTTPStatus
from typing import Any, NamedTuple

from django.http import JsonResponse


class _Spec(NamedTuple):
    status: int
    message: str
    remedy: str


class ErrorCode(StrEnum):
    # The founding table (D0).
    RATE_LIMITED = "rate_limited"
    UNAUTHORIZED = "unauthorized"
    AUTH_FAILED = "auth_failed"
    INVALID_ID_TOKEN = "invalid_id_token"  # noqa: S105 (an error code)
    MISSING_ID_TOKEN = "missing_id_token"  # noqa: S105 (an error code)
    INVALID_AMOUNT = "invalid_amount"
    INVALID_CURRENCY = "invalid_currency"
    INVALID_FREQUENCY = "invalid_frequency"
    INVALID_CUSTOMER_WALLET = "invalid_customer_wallet"
    INVALID_WITHDRAW_ADDRESS = "invalid_withdraw_address"
    INVALID_EMAIL = "invalid_email"
    INVALID_BODY = "invalid_body"
    INVALID_REQUEST = "invalid_request"
    RECURRING_REQUIRES_EMBEDDED_WALLET = "recurring_requires_embedded_wallet"
    AUTO_FORWARD_REQUIRES_EMBEDDED_WALLET = "auto_forward_requires_embedded_wallet"
    UNSUPPORTED_CURRENCY = "unsupported_currency"
    AMOUNT_EXCEEDS_MAX = "amount_exceeds_max"
    WEBHOOK_NOT_CONFIGURED = "webhook_not_configured"
    INVALID_WEBHOOK_URL = "invalid_webhook_url"
    API_ERROR = "api_error"
    RPC_ERROR = "rpc_error"
    RPC_UNAVAILABLE = "rpc_unavailable"
    FX_UNAVAILABLE = "fx_unavailable"
    PLAN_NOT_FOUND = "plan_not_found"
    PLAN_ALREADY_TERMINATED = "plan_already_terminated"
    CAN_ONLY_PAUSE_ACTIVE_PLANS = "can_only_pause_active_plans"
    CAN_ONLY_RESUME_PAUSED_PLANS = "can_only_resume_paused_plans"
    # Codes the public developer pages add.
    INSUFFICIENT_SCOPE = "insufficient_scope"
    CURRENCY_MISMATCH = "currency_mismatch"
    INVALID_MERCHANT_ID = "invalid_merchant_id"
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"
    INVALID_MEMO = "invalid_memo"
    METADATA_TOO_MANY_KEYS = "metadata_too_many_keys"
    METADATA_KEY_TOO_LONG = "metadata_key_too_long"
    METADATA_VALUE_TOO_LONG = "metadata_value_too_long"
    INVALID_WALLET_ADDRESS = "invalid_wallet_address"
    INVALID_COUNTRY = "invalid_country"
    INVALID_ACCOUNT_TYPE = "invalid_account_type"
    # Our own codes (decisions.md).
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    INVALID_REQUEST_ID = "invalid_request_id"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    REQUEST_NOT_CANCELLABLE = "request_not_cancellable"
    MERCHANT_NOT_READY = "merchant_not_ready"
    AMOUNT_BELOW_MINIMUM = "amount_below_minimum"
    INVALID_TX_HASH = "invalid_tx_hash"
    UNSUPPORTED_CHAIN = "unsupported_chain"
    PROOF_ALREADY_USED = "proof_already_used"
    PROOF_NOT_ACCEPTED = "proof_not_accepted"
    AMOUNT_UNAVAILABLE = "amount_unavailable"
    INVALID_EXPIRY = "invalid_expiry"
    INVALID_RETURN_URL = "invalid_return_url"

    @property
    def spec(self) -> _Spec:
        return REGISTRY[self]

    @property
    def status(self) -> int:
        return REGISTRY[self].status

    @property
    def message(self) -> str:
        return REGISTRY[self].message


_B, _U, _F, _N, _C = 400, 401, 403, 404, 409

# fmt: off
REGISTRY: dict[ErrorCode, _Spec] = {
    ErrorCode.RATE_LIMITED: _Spec(429, "Too many requests for this endpoint; wait and retry.", "Wait for Retry-After seconds."),
    ErrorCode.UNAUTHORIZED: _Spec(_U, "No API key or session was sent.", "Send Authorization: Bearer <key>."),
    ErrorCode.AUTH_FAILED: _Spec(_U, "The API key or session is wrong, revoked or expired.", "Check the key; re-authenticate."),
    ErrorCode.INVALID_ID_TOKEN: _Spec(_U, "The identity token is malformed, expired or not accepted.", "Get a fresh token from the identity provider."),
    ErrorCode.MISSING_ID_TOKEN: _Spec(_U, "No identity token was sent.", "Send the id_token."),
    ErrorCode.INVALID_AMOUNT: _Spec(_B, "The amount must be a positive integer in the currency's minor units.", "Send a positive integer in minor units."),
    ErrorCode.INVALID_CURRENCY: _Spec(_B, "The currency is not one of the 28 supported ISO 4217 codes.", "Use a supported code."),
    ErrorCode.INVALID_FREQUENCY: _Spec(_B, "The frequency must be daily, weekly or monthly.", "Use daily, weekly or monthly."),
    ErrorCode.INVALID_CUSTOMER_WALLET: _Spec(_B, "The customer wallet is not a 0x + 40 hex address.", "Send a valid EVM address."),
    ErrorCode.INVALID_WITHDRAW_ADDRESS: _Spec(_B, "The withdraw address is not a valid EVM address.", "Send a valid EVM address."),
    ErrorCode.INVALID_EMAIL: _Spec(_B, "The e-mail address is malformed.", "Send user@domain.tld."),
    ErrorCode.INVALID_BODY: _Spec(_B, "The body is missing or is not a JSON object.", "Send a JSON object with Content-Type: application/json."),
    ErrorCode.INVALID_REQUEST: _Spec(_B, "The request is malformed or a required field is missing.", "Read the endpoint's reference."),
    ErrorCode.RECURRING_REQUIRES_EMBEDDED_WALLET: _Spec(_B, "Pull collection needs an on-chain executor that is not configured yet.", "Use invoice collection until it is."),
    ErrorCode.AUTO_FORWARD_REQUIRES_EMBEDDED_WALLET: _Spec(_B, "Auto-forward needs an on-chain executor that is not configured yet.", "Wait for the executor."),
    ErrorCode.UNSUPPORTED_CURRENCY: _Spec(_B, "The currency is supported but not enabled for this partner.", "Enable it in the portal or use another."),
    ErrorCode.AMOUNT_EXCEEDS_MAX: _Spec(_B, "The amount is above the partner's per-request maximum.", "Lower the amount."),
    ErrorCode.WEBHOOK_NOT_CONFIGURED: _Spec(_B, "No webhook URL is configured.", "Set the webhook URL; switch delivery on if it is off."),
    ErrorCode.INVALID_WEBHOOK_URL: _Spec(_B, "The webhook URL must be a public https:// URL.", "Use a public HTTPS URL."),
    ErrorCode.API_ERROR: _Spec(500, "Something went wrong on our side.", "Retry later; report the request_id."),
    ErrorCode.RPC_ERROR: _Spec(500, "A chain RPC call failed.", "Retry in a few seconds."),
    ErrorCode.RPC_UNAVAILABLE: _Spec(503, "No chain RPC endpoint is reachable.", "Retry with backoff."),
    ErrorCode.FX_UNAVAILABLE: _Spec(503, "No usable exchange rate (none, or older than 24 hours).", "Retry in a few minutes."),
    ErrorCode.PLAN_NOT_FOUND: _Spec(_N, "No such recurring plan.", "Check the plan id."),
    ErrorCode.PLAN_ALREADY_TERMINATED: _Spec(_B, "The plan is cancelled or completed.", "Create a new plan."),
    ErrorCode.CAN_ONLY_PAUSE_ACTIVE_PLANS: _Spec(_B, "Only an active plan can be paused.", "Check the plan status first."),
    ErrorCode.CAN_ONLY_RESUME_PAUSED_PLANS: _Spec(_B, "Only a paused plan can be resumed.", "Check the plan status first."),
    ErrorCode.INSUFFICIENT_SCOPE: _Spec(_F, "The API key lacks the scope this endpoint needs.", "Use a key with required_scope."),
    ErrorCode.CURRENCY_MISMATCH: _Spec(_B, "fiat_currency_code differs from the merchant's currency.", "Use expected_fiat_code or omit the field."),
    ErrorCode.INVALID_MERCHANT_ID: _Spec(_B, "merchant_id must be a UUID.", "Send the merchant's UUID."),
    ErrorCode.INVALID_IDEMPOTENCY_KEY: _Spec(_B, "idempotency_key must be 32-64 characters of base64url or hex.", "Send a 32-64 character key."),
    ErrorCode.INVALID_MEMO: _Spec(_B, "memo must be a string of at most 500 characters.", "Shorten the memo."),
    ErrorCode.METADATA_TOO_MANY_KEYS: _Spec(_B, "metadata has more than 20 keys.", "Send at most 20 keys."),
    ErrorCode.METADATA_KEY_TOO_LONG: _Spec(_B, "A metadata key is longer than 40 characters.", "Shorten the key."),
    ErrorCode.METADATA_VALUE_TOO_LONG: _Spec(_B, "A metadata value is longer than 500 characters.", "Shorten the value."),
    ErrorCode.INVALID_WALLET_ADDRESS: _Spec(_B, "The wallet address is not a valid 0x + 40 hex EVM address.", "Send a valid (checksummed) address."),
    ErrorCode.INVALID_COUNTRY: _Spec(_B, "country must be an ISO 3166-1 alpha-2 code.", "Send two uppercase letters."),
    ErrorCode.INVALID_ACCOUNT_TYPE: _Spec(_B, "account_type must be business or individual.", "Use business or individual."),
    ErrorCode.NOT_FOUND: _Spec(_N, "Not found.", "Check the id and the key's mode."),
    ErrorCode.METHOD_NOT_ALLOWED: _Spec(405, "This method is not allowed on this route.", "Use the documented method."),
    ErrorCode.INVALID_REQUEST_ID: _Spec(_B, "The request id must be a UUID.", "Send the request's UUID."),
    ErrorCode.IDEMPOTENCY_CONFLICT: _Spec(_C, "This idempotency_key was used with a different body.", "Use a new key for a new request."),
    ErrorCode.REQUEST_NOT_CANCELLABLE: _Spec(_C, "The request is paid, expired or has a proof pending.", "Check the request status."),
    ErrorCode.MERCHANT_NOT_READY: _Spec(_C, "The merchant's onboarding is incomplete or the merchant is disabled.", "Finish onboarding or enable the merchant."),
    ErrorCode.AMOUNT_BELOW_MINIMUM: _Spec(_B, "The amount is below the partner's per-request minimum, or is less than 0.001 USDC at today's rate.", "Raise the amount."),
    ErrorCode.INVALID_TX_HASH: _Spec(_B, "tx_hash must be 0x + 64 hex characters.", "Send the transaction hash."),
    ErrorCode.UNSUPPORTED_CHAIN: _Spec(_B, "That chain is not accepted for this request.", "Pay on an accepted chain."),
    ErrorCode.PROOF_ALREADY_USED: _Spec(_C, "That transaction already proves another request.", "Send the transaction that paid this request."),
    ErrorCode.PROOF_NOT_ACCEPTED: _Spec(_C, "This request no longer accepts proofs.", "Check the request status."),
    ErrorCode.AMOUNT_UNAVAILABLE: _Spec(_C, "Every unique tag of that amount is taken for the receiving address.", "Try another amount or later."),
    ErrorCode.INVALID_EXPIRY: _Spec(_B, "expires_in_seconds is outside the bounds for this payment_mode.", "Use a value within the documented bounds."),
    ErrorCode.INVALID_RETURN_URL: _Spec(_B, "return_url must be an https:// URL.", "Send an https URL."),
}
# fmt: on

assert set(REGISTRY) == set(ErrorCode), "every ErrorCode needs a registry entry"  # noqa: S101


BODY_NOT_JSON_TYPE = (
    "The body must be sent with Content-Type: application/json (a JSON object)."
)


class JoPayError(Exception):
    """A failure with a registry code. ``extra`` keys are added to the envelope."""

    code: ErrorCode = ErrorCode.API_ERROR

    def __init__(
        self,
        code: ErrorCode | str | None = None,
        message: str | None = None,
        **extra: Any,
    ) -> None:
        if code is not None:
            self.code = ErrorCode(code)
        if (
            message is None
            and self.code == ErrorCode.INVALID_REQUEST
            and extra.get("field")
        ):
            # The registry's sentence fits every cause; this one names the
            # field or query parameter the caller has to look at.
            message = (
                f"The value of {extra['field']} is not accepted"
                " (or the field is required and missing)."
            )
        self.message = message or self.code.message
        self.extra = extra
        self.headers: dict[str, str] = extra.pop("headers", None) or {}
        super().__init__(f"{self.code}: {self.message}")

    @property
    def status(self) -> int:
        return self.code.status

    def body(self) -> dict[str, Any]:
        return {
            "ok": False,
            "error": str(self.code),
            "message": self.message,
            **self.extra,
        }


def error_body(
    code: ErrorCode, message: str | None = None, **extra: Any
) -> dict[str, Any]:
    return JoPayError(code, message, **extra).body()


def error_json_response(
    code: ErrorCode,
    message: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JsonResponse:
    """The envelope as a plain Django response (for middleware and non-DRF views)."""
    err = JoPayError(code, message, **extra)
    response = JsonResponse(err.body(), status=err.status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def status_phrase(status: int) -> str:
    return HTTPStatus(status).phrase
