"""``POST /api/v1/requests/<id>/reverify`` (D35): re-run verification synchronously.

Wired by one line in ``payments/api/urls.py``. Answers the GET request shape,
or 500 ``rpc_error`` / 503 ``rpc_unavailable`` when the chain cannot answer
within the 10 s budget (the proof then stays attached; D20).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from jopay_project.api import JoPayApiView, ok, parse_uuid
from jopay_project.errors import ErrorCode
from payments.api.schema import PaymentRequestOutput
from payments.selectors import payment_request_get
from payments.serializers import payment_request_data

from .services import proof_reverify


class PaymentRequestReverifyApi(JoPayApiView):
    rate_group = "requests.reverify"
    required_scope = "requests:write"

    @extend_schema(
        request=None,
        responses={200: PaymentRequestOutput},
        summary="Re-run on-chain verification of the request's proof now (10 s budget)",
    )
    def post(self, request: Request, request_id: str) -> Response:
        found = payment_request_get(
            tenant=self.tenant,
            request_id=parse_uuid(request_id, ErrorCode.INVALID_REQUEST_ID),
        )
        return ok(payment_request_data(proof_reverify(request=found)))
