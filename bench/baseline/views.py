"""The baseline: parse a JSON body, INSERT one row, answer JSON (no auth, no ORM).

It is the floor a create endpoint cannot beat on this stack: a request through
Django's middleware, one round trip to PostgreSQL in autocommit, a JSON answer.
"""

from __future__ import annotations

import json

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

TABLE = "bench_baseline_insert"
CREATE_TABLE = f"""
create table if not exists {TABLE} (
    id bigserial primary key,
    merchant_id uuid,
    fiat_int bigint not null,
    idempotency_key varchar(64),
    created_at timestamptz not null default now()
)
"""


def ensure_table() -> None:
    """Create (if needed) and empty the baseline table; called by the bench setup."""
    with connection.cursor() as cursor:
        cursor.execute(CREATE_TABLE)
        cursor.execute(f"truncate {TABLE}")


@csrf_exempt  # an API-style POST, like DRF views (which are CSRF-exempt too)
@require_POST
def bench_insert(request: HttpRequest) -> JsonResponse:
    try:
        body = json.loads(request.body)
        values = (body["merchant_id"], int(body["fiat_amount_int"]))
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"ok": False, "error": "invalid_body"}, status=400)
    with connection.cursor() as cursor:
        cursor.execute(
            f"insert into {TABLE} (merchant_id, fiat_int, idempotency_key) "  # noqa: S608
            "values (%s, %s, %s) returning id",
            (*values, body.get("idempotency_key")),
        )
        row_id = cursor.fetchone()[0]
    return JsonResponse({"ok": True, "id": row_id}, status=201)
