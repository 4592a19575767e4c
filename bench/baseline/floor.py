"""The design floor of create: its round trips, with none of its work.

``POST /bench/floor`` sends what ``POST /api/v1/requests/create`` sends to
PostgreSQL and Redis, the cheapest way: the key look-up, the rate-limit counter
(SET NX + INCR in one round trip), the create-context read (replay, merchant,
FX) and the pipelined address lock + tag-picking INSERT of a full payment
request row, then a JSON answer of the same shape. The SQL comes from the
code (``_auth_statement``, ``_create_context_statement``, ``_LOCK``,
``_pick_sql``), so the floor follows the statements the API really runs.

Nothing is validated, converted or checked (a bad body is a 500 here): the
gap between this route and the one-INSERT baseline is what the design costs
(statements, index maintenance, foreign keys, commit); the gap between it and
the API is what the implementation costs (DRF, model instances, validation,
money, serialisation). Needs the bench partner's key and merchants.

``?without=key,context,counter,lock`` (the benchmark's ``--what-if``) drops
steps the decisions require, to price each one for a product decision: the key
row and the merchant context served from a process cache (``key``,
``context``: what D8 rules out today), no D27 counter (``counter``), no D15
advisory lock (``lock``). Only for pricing: a what-if row proves nothing about
correctness. (The foreign-key checks cannot be priced this way: switching
their triggers off with ``session_replication_role`` drops every cached plan,
which costs more than the checks.)
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from jopay_project.ratelimits import _client_for
from jopay_project.sql import insert_columns_params, pipelined
from merchants.keys import _auth_statement
from payments.models import PaymentRequest
from payments.selectors import _create_context_statement
from payments.serializers import payment_request_data
from payments.services.tags import (
    _LOCK,
    AMOUNT_LOCK_CLASS,
    TAG_HELD_AFTER_EXPIRY,
    TAG_SPAN,
    _pick_sql,
    pick_params,
)

WITHOUT = frozenset({"key", "context", "counter", "lock"})
# What-if caches (``without=key`` / ``context``): filled on first use, per process.
_keys: dict[str, tuple] = {}
_wallets: dict[str, str] = {}
# ``_LOCK`` without the lock: the generic-plan setting stays, it is an
# implementation detail, not the lock.
_GENERIC_PLAN = "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"


@cache
def _row_template() -> tuple[tuple[str, ...], list]:
    """The INSERT's columns and a converted row of constants, made once."""
    now = timezone.now()
    template = PaymentRequest(
        fiat_code="EUR",
        fiat_int=1,
        fx_rate=Decimal("0.92"),
        fx_source="bench-floor",  # bench.api_create tells the floor's rows by it
        created_at=now,
        expires_at=now,
    )
    columns, values = insert_columns_params(template, skip="usdc_micro")
    return tuple(columns), values


def _key(bearer: str, cached: bool) -> tuple:
    key_hash = hashlib.sha256(bearer.encode()).hexdigest()
    if cached and key_hash in _keys:
        return _keys[key_hash]
    auth_sql, key_columns, _ = _auth_statement()
    with connection.cursor() as cursor:
        cursor.execute(auth_sql, [key_hash])
        key = cursor.fetchone()
    found = (
        key[key_columns.attnames.index("id")],
        key[key_columns.attnames.index("partner_id")],
    )
    _keys[key_hash] = found
    return found


def _wallet(body: dict, partner_id, cached: bool) -> str:
    merchant_id = body["merchant_id"]
    if cached and merchant_id in _wallets:
        return _wallets[merchant_id]
    context_sql, merchant_columns, *_ = _create_context_statement()
    with connection.cursor() as cursor:
        cursor.execute(
            context_sql,
            [partner_id, False, body["idempotency_key"], merchant_id,
             partner_id, False, partner_id, "EUR", "EUR"],
        )  # fmt: skip
        context = cursor.fetchone()
    wallet = context[1 + merchant_columns.attnames.index("wallet_address")]
    _wallets[merchant_id] = wallet
    return wallet


@csrf_exempt
@require_POST
def bench_floor(request: HttpRequest) -> JsonResponse:
    without = set(filter(None, request.GET.get("without", "").split(",")))
    if without - WITHOUT:
        # A code from the registry (errors.md), not one invented for the bench.
        return JsonResponse({"ok": False, "error": "invalid_request"}, status=400)
    body = json.loads(request.body)
    bearer = request.META["HTTP_AUTHORIZATION"].partition(" ")[2]
    key_id, partner_id = _key(bearer, cached="key" in without)

    if "counter" not in without:
        counter = f"jopay-floor:{key_id}:{int(time.time()) // 60}"
        redis = _client_for(settings.CACHES["default"]["LOCATION"])
        pipe = redis.pipeline(transaction=False)
        pipe.set(counter, 0, ex=70, nx=True)
        pipe.incr(counter)
        pipe.execute()

    wallet = _wallet(body, partner_id, cached="context" in without)
    columns, constants = _row_template()
    now = timezone.now()
    row = dict(zip(columns, constants, strict=True))
    row.update(
        id=uuid.uuid4(),
        partner_id=partner_id,
        merchant_id=uuid.UUID(body["merchant_id"]),
        fiat_int=body["fiat_amount_int"],
        memo=body.get("memo", ""),
        metadata=PaymentRequest._meta.get_field("metadata").get_db_prep_save(
            body.get("metadata", {}), connection
        ),
        receiving_address=wallet,
        reference=secrets.token_hex(6).upper(),
        idempotency_key=body["idempotency_key"],
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(hours=1),
    )
    base = 1_000_000 + body["fiat_amount_int"] * TAG_SPAN
    start = secrets.randbelow(TAG_SPAN)
    grace = now - TAG_HELD_AFTER_EXPIRY
    params = pick_params(
        columns=list(row),
        address=wallet,
        base=base,
        cutoff=grace,
        values=list(row.values()),
        start=start,
    )
    with connection.cursor() as lock, connection.cursor() as insert:
        with pipelined():
            if "lock" in without:
                lock.execute(_GENERIC_PLAN)
            else:
                lock.execute(_LOCK, [AMOUNT_LOCK_CLASS, wallet])
            insert.execute(_pick_sql(columns), params)
        usdc_micro = insert.fetchone()[0]

    # The same answer shape as the API's (D18), from the values at hand.
    answer = PaymentRequest(
        id=row["id"],
        merchant_id=row["merchant_id"],
        fiat_int=row["fiat_int"],
        fiat_code="EUR",
        usdc_micro=usdc_micro,
        memo=row["memo"],
        metadata=body.get("metadata", {}),
        reference=row["reference"],
        receiving_address=wallet,
        created_at=now,
        expires_at=row["expires_at"],
    )
    return JsonResponse({"ok": True, **payment_request_data(answer)}, status=201)
