"""From a fiat amount to the exact USDC amount a payer sends (D13-D15, D35)."""

from __future__ import annotations

import secrets
from contextlib import nullcontext
from datetime import datetime
from functools import cache

from django.db import IntegrityError, connection, transaction

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.sql import insert_columns_params, pipelined, table
from merchants.models import Partner
from payments.chain.verify import CREATED_AT_SKEW
from payments.models import PaymentRequest
from payments.models.requests import PROOF_GRACE, TAG_SPAN
from payments.money import fiat_to_usdc_micro, format_minor

from .fx import fx_rate_for

# D15: a tag stays taken until no transfer could pay both its request and a
# new one. The old request accepts blocks until ``expires_at`` + grace (D20);
# a new one accepts blocks from ``CREATED_AT_SKEW`` before its creation. So a
# tag freed at grace's end would, for those two minutes, let one transfer
# prove either request.
TAG_HELD_AFTER_EXPIRY = PROOF_GRACE + CREATED_AT_SKEW


def amount_check_limits(
    *, partner: Partner, fiat_int: int, currency: str, usdc_micro: int | None = None
) -> None:
    """Refuse amounts outside the partner's per-request bounds (D13, D35).

    The bounds are minor units of the partner's default currency. A request in
    that currency compares directly; one in another currency compares after
    converting both sides to micro-USDC through the current rates (so this can
    raise ``fx_unavailable`` for the default currency's rate too).
    Raises ``amount_below_minimum`` / ``amount_exceeds_max``.
    """
    low, high = partner.min_fiat_per_request, partner.max_fiat_per_request
    default = partner.default_currency
    if currency == default:
        if low and fiat_int < low:
            raise _outside_limit(ErrorCode.AMOUNT_BELOW_MINIMUM, low, default)
        if high is not None and fiat_int > high:
            raise _outside_limit(ErrorCode.AMOUNT_EXCEEDS_MAX, high, default)
        return
    if not low and high is None:
        return
    if usdc_micro is None:
        usdc_micro = fiat_to_usdc_micro(
            fiat_int, currency, fx_rate_for(partner, currency).rate
        )
    default_rate = fx_rate_for(partner, default).rate
    if low and usdc_micro < fiat_to_usdc_micro(low, default, default_rate):
        raise _outside_limit(ErrorCode.AMOUNT_BELOW_MINIMUM, low, default, currency)
    # A zero maximum would make fiat_to_usdc_micro refuse; nothing passes it anyway.
    if high is not None and (
        high == 0 or usdc_micro > fiat_to_usdc_micro(high, default, default_rate)
    ):
        raise _outside_limit(ErrorCode.AMOUNT_EXCEEDS_MAX, high, default, currency)


def _outside_limit(
    code: ErrorCode, limit: int, default: str, currency: str | None = None
) -> JoPayError:
    """The refusal, naming the limit in the default currency it is set in."""
    which = "minimum" if code == ErrorCode.AMOUNT_BELOW_MINIMUM else "maximum"
    message = f"The amount is {'below' if which == 'minimum' else 'above'} your"
    message += f" per-request {which} of {format_minor(limit, default)} {default}"
    if currency is not None:
        message += f" (compared with this {currency} amount at today's USDC rates)"
    return JoPayError(code, message + ".")


# usdc_micro is a BIGINT: the base plus any tag must fit it. Rates are bounded
# (money.RATE_MIN) so no conversion reaches this, but a rate stored before
# they were must answer a code from the table, not overflow into a 500.
MAX_BASE = 2**63 - TAG_SPAN


def amount_base(usdc_micro: int) -> int:
    """Round down to a multiple of 1 000 micro-USDC; at least 1 000 (D15)."""
    base = usdc_micro - usdc_micro % TAG_SPAN
    if base < TAG_SPAN:
        raise JoPayError(
            ErrorCode.AMOUNT_BELOW_MINIMUM,
            "The amount is less than 0.001 USDC at today's rate.",
        )
    if base >= MAX_BASE:
        raise JoPayError(ErrorCode.AMOUNT_EXCEEDS_MAX)
    return base


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
_PICK = """
WITH RECURSIVE steps(n) AS (
    SELECT 0 UNION ALL SELECT n + 1 FROM steps WHERE n < {last}
),
taken AS (
    SELECT usdc_micro FROM {table}
     WHERE receiving_address = %s AND usdc_micro - usdc_micro %% {span} = %s
       AND expires_at > %s
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


@cache
def _pick_sql(columns: tuple[str, ...]) -> str:
    return _PICK.format(
        last=TAG_SPAN - 1,
        span=TAG_SPAN,
        table=table(PaymentRequest),
        open_statuses=", ".join(f"'{s.value}'" for s in PaymentRequest.OPEN_STATUSES),
        columns=", ".join(f'"{column}"' for column in columns),
        values=", ".join(["%s"] * len(columns)),
    )


def pick_params(
    *, address: str, base: int, cutoff: object, values: list, start: int
) -> list:
    """The parameters of ``_PICK``, in its order (the bench floor uses it too)."""
    return [
        address, base, cutoff, address, base,
        *values,
        base, start, base, start,
    ]  # fmt: skip


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
    when a unique index objected (idempotency key, reference) and nothing was
    written. Raises ``amount_unavailable`` when all 1 000 tags are taken.
    """
    address = request.receiving_address
    columns, values = insert_columns_params(request, skip="usdc_micro")
    grace_ends_after = PaymentRequest._meta.get_field("expires_at").get_db_prep_value(
        now - TAG_HELD_AFTER_EXPIRY, connection
    )
    sql = _pick_sql(tuple(columns))
    params = pick_params(
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
        if not _no_free_tag(exc):
            raise  # a real integrity problem
        # The NOT NULL check comes before the unique indexes: a retry whose
        # original took the last tag finds no tag before it finds the key
        # taken. Its request exists: the caller replays it (D17).
        if request.idempotency_key and (
            PaymentRequest.objects.filter(
                partner_id=request.partner_id,
                test_mode=request.test_mode,
                idempotency_key=request.idempotency_key,
            ).exists()
        ):
            return False
        raise JoPayError(ErrorCode.AMOUNT_UNAVAILABLE) from None
    if row is None:
        return False
    request.usdc_micro = row[0]
    request._state.adding = False
    request._state.db = connection.alias
    return True


def _no_free_tag(exc: IntegrityError) -> bool:
    """The INSERT was refused because the tag search found no free tag (D15).

    ``_PICK`` yields a NULL ``usdc_micro`` then, and nothing else can: the
    refusal itself says so. Counting the taken tags again afterwards (as this
    once did) raced with a holder closing in between: 999 taken, the error
    re-raised, a 500 instead of ``amount_unavailable``.
    """
    cause = exc.__cause__
    diag = getattr(cause, "diag", None)
    if diag is not None:  # psycopg
        return cause.sqlstate == "23502" and diag.column_name == "usdc_micro"
    # SQLite names the table and the column after "NOT NULL constraint failed".
    return str(exc).startswith("NOT NULL") and str(exc).endswith(".usdc_micro")
