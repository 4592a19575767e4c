"""D15's unique amount: the tag chosen inside the request's INSERT, under a
lock on the receiving address (one round trip, one transaction)."""

from __future__ import annotations

import secrets
from contextlib import nullcontext
from datetime import datetime
from functools import cache, lru_cache

from django.db import IntegrityError, connection, transaction
from eth_utils import is_hex_address, to_checksum_address

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.sql import insert_columns_params, pipelined, table
from merchants.models import Merchant
from payments.chain.verify import CREATED_AT_SKEW
from payments.models import PaymentRequest
from payments.models.requests import PROOF_GRACE, TAG_SPAN

# D15: a tag stays taken until no transfer could pay both its request and a
# new one. The old request accepts blocks until ``expires_at`` + grace (D20);
# a new one accepts blocks from ``CREATED_AT_SKEW`` before its creation. So a
# tag freed at grace's end would, for those two minutes, let one transfer
# prove either request. Both ends are inclusive, so a request whose
# ``expires_at`` is exactly ``now - TAG_HELD_AFTER_EXPIRY`` still holds it.
TAG_HELD_AFTER_EXPIRY = PROOF_GRACE + CREATED_AT_SKEW


# Namespace (first key) of JoPay's transaction-scoped advisory locks; the second
# key is a hash of the receiving address (a collision only serialises two
# wallets' creates, it never lets two share a tag).
AMOUNT_LOCK_CLASS = 0x4A50

# D15 tag choice and INSERT in one statement. ``steps`` walks the 1 000 tags
# from a random start (not guessable, bounded); ``taken`` are the tags of
# ``base`` in use at the address: the request is open (requested/opened), or
# its proof window (``expires_at`` + 10 min grace, D20) has not closed, so a
# late transfer still matches exactly one request. No free tag → NULL →
# the NOT NULL constraint refuses the row. Portable: SQLite runs it as well.
#
# ``taken`` is "open, or its window not closed" split in two so each half
# reads only rows in use, never the wallet's history at that price (200 000
# old requests of a fixed-price merchant took 115 ms, under the wallet's
# lock, on every create), nor its open requests at other prices (a busy
# wallet's thousands): the rows at this base whose window is open, through
# the expression index ``request_base_expiry`` (wallet, base, expiry: the
# base is written exactly as there, so the generic plan of ``_LOCK`` uses
# it); and the open rows at this base, whatever their window (the expiry
# job has not run yet, or a proof is attached), through the partial
# expression index ``request_open_amount``, which holds open rows only (with
# the price as a range, the generic plan could pick ``request_amount`` and
# read the history again). The open statuses are
# literals: they prove the partial index's predicate in a generic plan.
#
# ``merchant_id`` is written through ``_MERCHANT_READY``: NULL (refused by
# NOT NULL, nothing written) when the merchant was disabled, or its wallet
# moved off this address, after the create read it. The check runs after the
# lock was granted, and whatever disables a merchant or moves its wallet
# takes the same lock first (``amount_lock_address``): a create either
# commits before the disable can, or sees it. Without it, a create could
# succeed just after the disable had returned (D28).
_PICK = """
WITH RECURSIVE steps(n) AS (
    SELECT 0 UNION ALL SELECT n + 1 FROM steps WHERE n < {last}
),
taken AS (
    SELECT usdc_micro FROM {table}
     WHERE receiving_address = %s AND usdc_micro - usdc_micro %% {span} = %s
       AND expires_at >= %s
    UNION ALL
    SELECT usdc_micro FROM {table}
     WHERE status IN ({open_statuses}) AND receiving_address = %s
       AND usdc_micro - usdc_micro %% {span} = %s
)
INSERT INTO {table} ({columns}, "usdc_micro") VALUES ({values}, (
    SELECT CAST(%s AS BIGINT) + (CAST(%s AS BIGINT) + n) %% {span} FROM steps
     WHERE CAST(%s AS BIGINT) + (CAST(%s AS BIGINT) + n) %% {span}
           NOT IN (SELECT usdc_micro FROM taken)
     LIMIT 1
))
ON CONFLICT DO NOTHING RETURNING "usdc_micro"
"""

# The lock, and a generic plan for the INSERT that follows in its transaction.
# With the parameters' values the planner sees that the tag range is tiny;
# without them it assumes a wide one, judges the generic plan costlier and so
# plans the prepared INSERT anew on every call: 0.2 of its 0.5 ms of server
# CPU (docs/BENCHMARKS.md). The generic plan is the same two index scans
# (see ``_PICK``). ``is_local``: the setting ends with the transaction.
_LOCK = (
    "SELECT pg_advisory_xact_lock(%s, hashtext(%s)), "
    "set_config('plan_cache_mode', 'force_generic_plan', true)"
)
# Inside a caller's transaction the setting would outlive the INSERT: restore
# the session's own value right after it.
_RESTORE = (
    "SELECT set_config('plan_cache_mode', reset_val, true) "
    "FROM pg_settings WHERE name = 'plan_cache_mode'"
)


@lru_cache(maxsize=4096)  # EIP-55 hashing costs more than the rest of a create
def canonical_address(address: str) -> str:
    """D15 compares addresses exactly: one spelling (EIP-55) for every copy."""
    return to_checksum_address(address) if is_hex_address(address) else address


_MERCHANT_READY = (
    '(SELECT "id" FROM {merchants} WHERE "id" = %s AND NOT "disabled"'
    ' AND lower("wallet_address") = lower(%s))'
)


@cache
def _pick_sql(columns: tuple[str, ...]) -> str:
    merchant_ready = _MERCHANT_READY.format(merchants=table(Merchant))
    return _PICK.format(
        last=TAG_SPAN - 1,
        span=TAG_SPAN,
        table=table(PaymentRequest),
        open_statuses=", ".join(f"'{s.value}'" for s in PaymentRequest.OPEN_STATUSES),
        columns=", ".join(f'"{column}"' for column in columns),
        values=", ".join(
            merchant_ready if column == "merchant_id" else "%s" for column in columns
        ),
    )


def pick_params(
    *,
    columns: list[str],
    address: str,
    base: int,
    cutoff: object,
    values: list,
    start: int,
) -> list:
    """The parameters of ``_PICK``, in its order (the bench floor uses it too)."""
    values = list(values)
    after_merchant = columns.index("merchant_id") + 1
    values[after_merchant:after_merchant] = [address]  # _MERCHANT_READY's wallet
    return [
        address, base, cutoff, address, base,
        *values,
        base, start, base, start,
    ]  # fmt: skip


def merchant_creates_drain(merchant_id) -> None:
    """``amount_lock_address`` for the merchant's wallet as committed now.

    For a change that stops the merchant taking requests there: a disable,
    a new or no wallet (D28). Inside the change's transaction, before it
    locks or writes the merchant row.
    """
    wallet = (
        Merchant.objects.filter(pk=merchant_id)
        .values_list("wallet_address", flat=True)
        .first()
    )
    amount_lock_address(wallet or "")


def merchant_moved_wallet(merchant: Merchant, address: str) -> Merchant | None:
    """``merchant`` as committed now, when only its wallet moved off ``address``
    since ``merchant`` was read; else None.

    For a create that ``amount_insert_unique`` refused (``merchant_not_ready``):
    a new wallet committed after the create read the merchant. The merchant is
    still complete and enabled (errors.md: not "not ready"), so the create is
    retried once at the new wallet, under that wallet's lock (D15, D28: never
    the old one). A disable, a cleared wallet or a new display currency (the
    create checked its currency against the old one, D12) still refuses.
    """
    fresh = Merchant.objects.filter(pk=merchant.pk).first()
    if (
        fresh is None
        or not fresh.is_ready
        or fresh.display_currency != merchant.display_currency
        or canonical_address(fresh.wallet_address) == address
    ):
        return None
    fresh.partner = merchant.partner
    return fresh


def amount_lock_address(address: str) -> None:
    """Wait for the creates in flight at ``address``, and hold new ones back
    until the caller's transaction ends (D15's lock, ``_LOCK``).

    For a change that stops a merchant taking requests at this wallet (a
    disable, a new wallet): called inside its transaction before it writes,
    and before it locks the merchant row (a create holding this lock takes a
    key-share lock on that row as it commits, for its foreign key). SQLite
    serialises writers, so nothing is needed there.
    """
    if connection.vendor == "postgresql" and address:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                [AMOUNT_LOCK_CLASS, canonical_address(address)],
            )


def amount_insert_unique(request: PaymentRequest, *, base: int, now: datetime) -> bool:
    """INSERT ``request`` with ``usdc_micro`` = ``base`` + a tag free at its address.

    D15: the tag is unique among the address's requests in use, across every
    partner and mode. On PostgreSQL two statements travel in one round trip
    and one transaction (a pipeline's implicit transaction, or the caller's):

    1. a transaction-scoped advisory lock on the receiving address, so two
       creates for the same wallet serialise;
    2. the INSERT, whose tag subquery is a new statement with a new snapshot,
       taken after the lock was granted: it sees every create that committed
       while this one waited (inside a caller's transaction a third statement
       restores the plan setting the lock statement changed, see ``_LOCK``).

    SQLite (the embedded default) serialises writers, so step 2 alone does.
    Returns True when the row was written (``request.usdc_micro`` set), False
    when a unique index objected (idempotency key, reference), or the key's
    request exists (D17), and nothing was written. Raises
    ``amount_unavailable`` when all 1 000 tags are taken and
    ``merchant_not_ready`` when the merchant stopped taking requests here.
    """
    address = request.receiving_address
    columns, values = insert_columns_params(request, skip="usdc_micro")
    grace_ends_after = PaymentRequest._meta.get_field("expires_at").get_db_prep_value(
        now - TAG_HELD_AFTER_EXPIRY, connection
    )
    sql = _pick_sql(tuple(columns))
    params = pick_params(
        columns=columns,
        address=address,
        base=base,
        cutoff=grace_ends_after,
        values=values,
        start=secrets.randbelow(TAG_SPAN),
    )
    # Inside a caller's transaction, a savepoint keeps a refusal from aborting it.
    nested = connection.in_atomic_block
    postgres = connection.vendor == "postgresql"
    unit = transaction.atomic() if nested else nullcontext()
    try:
        with unit, connection.cursor() as lock, connection.cursor() as insert:
            with pipelined():
                if postgres:
                    lock.execute(_LOCK, [AMOUNT_LOCK_CLASS, address])
                insert.execute(sql, params)
                if postgres and nested:
                    lock.execute(_RESTORE)
            row = insert.fetchone()
    except IntegrityError as exc:
        column = _null_column(exc)
        if column not in ("merchant_id", "usdc_micro"):
            raise  # a real integrity problem
        # The NOT NULL check comes before the unique indexes: a retry whose
        # original took the last tag finds no tag, and one whose merchant was
        # disabled (or moved its wallet) since it read it finds no merchant
        # (see _PICK), before either finds the key taken. Its request exists:
        # the caller replays it (D17), as the view does after a disable.
        if request.idempotency_key and (
            PaymentRequest.objects.filter(
                partner_id=request.partner_id,
                test_mode=request.test_mode,
                idempotency_key=request.idempotency_key,
            ).exists()
        ):
            return False
        if column == "merchant_id":
            raise JoPayError(ErrorCode.MERCHANT_NOT_READY) from None
        raise JoPayError(ErrorCode.AMOUNT_UNAVAILABLE) from None
    if row is None:
        return False
    request.usdc_micro = row[0]
    request._state.adding = False
    request._state.db = connection.alias
    return True


def _null_column(exc: IntegrityError) -> str | None:
    """The column a NOT NULL refusal of ``_PICK`` names, else None.

    ``usdc_micro``: the tag search found no free tag (D15); ``merchant_id``:
    the merchant stopped being ready at this wallet. Nothing else in ``_PICK``
    can be NULL, so the refusal itself says which. Counting the taken tags
    again afterwards (as this once did) raced with a holder closing in
    between: 999 taken, the error re-raised, a 500 instead of
    ``amount_unavailable``.
    """
    cause = exc.__cause__
    diag = getattr(cause, "diag", None)
    if diag is not None:  # psycopg
        return diag.column_name if cause.sqlstate == "23502" else None
    # SQLite names the table and the column after "NOT NULL constraint failed".
    text = str(exc)
    if text.startswith("NOT NULL"):
        return text.rsplit(".", 1)[-1]
    return None
