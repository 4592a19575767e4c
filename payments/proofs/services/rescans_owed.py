"""Which rescans a request is owed, and sending them (D20, D21).

``rescans_schedule`` writes one ``RequestRescan`` row per chain a request
whose proof was just judged a mismatch may be paid on (``_owed_chain_ids``),
in the caller's transaction, and enqueues a task per row on commit. What
happens to a row after that (its lease, its runs, the resume beat) is
``rescans``; both send a row's task the same way (``rescan_args``).
Split from ``rescans``, which had grown past the size of a module.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db.models import BigIntegerField, Case, F, Q, Value, When
from django.db.models.functions import Least

from jopay_project.tasks import enqueue_on_commit
from payments.chain.rescan import chain_ids_for
from payments.models import Chain, PaymentRequest, RequestRescan

# The attach time is the web host's clock, a chain's last_scanned_at the
# worker's: a read this close before the attach counts as after it.
CLOCK_SLACK = timedelta(seconds=5)


def _task():
    from ..tasks import rescan_request_task

    return rescan_request_task


def rescan_args(request_id: uuid.UUID | str, chain_id: int) -> tuple:
    """The task arguments of an owed rescan. ``owed=True`` (the last one) tells
    it from messages sent before rescans had rows, which are adopted instead."""
    return (str(request_id), chain_id, None, None, True)


def _enqueue(
    request_id: uuid.UUID | str, chain_id: int, *, countdown: float | None = None
) -> None:
    enqueue_on_commit(_task(), *rescan_args(request_id, chain_id), countdown=countdown)


def rescans_schedule(
    *,
    request: PaymentRequest,
    now: datetime,
    floors: dict[str, int | None] | None = None,
    held_since: datetime | None = None,
) -> list[int]:
    """Owe ``request`` a rescan on each of its chains; enqueue each on commit.

    Its chains: the usable ones of its mode, and, even while switched off,
    those ``floors`` names and those the watcher read after ``held_since``
    (when the proof judged was attached) (``_owed_chain_ids``).

    Call it inside the transaction that makes the rescan necessary. A row
    that already exists starts over (a new generation), since the proof just
    judged may have hidden any block of it. ``floors`` ("<chain id>": block,
    the watcher's cursor when the proof was attached) bound where each scan
    starts; a chain without one (or with None) is read from the window's start. A row
    restarted keeps the lower of its floor and the new one, so the blocks an
    earlier proof hid are still read.
    """
    chain_ids = _owed_chain_ids(
        test_mode=request.test_mode, floors=floors, held_since=held_since
    )
    for chain_id in chain_ids:
        floor = (floors or {}).get(str(chain_id))
        # UPDATE first: it locks an existing row, so a finishing run of the old
        # generation cannot delete it between a read and this write (its
        # conditional delete waits, then matches nothing).
        restarted = RequestRescan.objects.filter(
            request=request, chain_id=chain_id
        ).update(
            generation=F("generation") + 1,
            next_from_block=None,
            to_block=None,
            locked_until=None,
            enqueued_at=now,
            runs=0,
            floor_block=(
                None
                if floor is None
                else Case(
                    When(floor_block__isnull=True, then=Value(None)),
                    default=Least(F("floor_block"), Value(floor)),
                    output_field=BigIntegerField(),
                )
            ),
        )
        if not restarted:
            RequestRescan.objects.get_or_create(
                request=request,
                chain_id=chain_id,
                defaults={"enqueued_at": now, "floor_block": floor},
            )
        _enqueue(request.pk, chain_id)
    return chain_ids


def _owed_chain_ids(
    *,
    test_mode: bool,
    floors: dict[str, int | None] | None,
    held_since: datetime | None,
) -> list[int]:
    """The chains a rescan is owed on: every usable chain of the mode, and
    even if switched off now (D19, D20, D21) those named in ``floors`` (the
    watcher read them when the proof was attached) and those whose cursor
    the watcher moved after ``held_since`` (read while the proof held the
    request: a chain off at the attach, on for a while, off again).

    A chain switched off for a moment keeps its cursor: back on, the watcher
    carries on from there, never reading the blocks it passed the request
    over in. Its row waits meanwhile, retried like an outage
    (``rescan_request_window``). Left out, the payment was never found.
    A chain off all the while (or read only before the attach) passed
    nothing over, so it owes nothing.
    """
    chain_ids = set(chain_ids_for(test_mode=test_mode))
    read = Q(pk__in={int(key) for key in floors or {}})
    if held_since is not None:
        read |= Q(last_scanned_at__gte=held_since - CLOCK_SLACK)
    chain_ids.update(
        chain.chain_id
        for chain in Chain.objects.filter(read).exclude(pk__in=chain_ids)
        if chain.rpc_urls and chain.accepts(test_mode=test_mode)
    )
    return sorted(chain_ids)
