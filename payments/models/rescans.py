"""The durable record of a rescan still owed to a request (D20, D21)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from .chains import Chain
from .requests import PaymentRequest


class RequestRescan(models.Model):
    """A look for one request's payment on one chain, owed until it has run out.

    Written with the ``mismatch`` that calls for it, in the same transaction,
    so a broker outage after the commit cannot lose it: the task only carries
    ids, and this row carries the work (where the next run starts, who holds
    it). ``payments.resume_rescans`` re-enqueues a row nobody is working on.
    The row is deleted when the window has been read to its end, or when the
    request no longer needs it (paid, being checked, closed).
    """

    request = models.ForeignKey(
        PaymentRequest,
        on_delete=models.CASCADE,
        related_name="rescans",
        db_index=False,  # the (request, chain) unique index serves it
    )
    chain = models.ForeignKey(Chain, on_delete=models.CASCADE, related_name="+")
    # A newer mismatch starts the scan over; a run started before it then
    # records nothing (its finish is conditional on the generation it claimed).
    generation = models.PositiveIntegerField(default=1)
    # Where the next run starts and where the window ends; None until the
    # first run has computed the window from the request's times.
    next_from_block = models.BigIntegerField(null=True, blank=True)
    to_block = models.BigIntegerField(null=True, blank=True)
    # The lowest block the scan must read (minus the reorg margin); None: the
    # window's start. The watcher had read up to it before the proof held the
    # request, so one anonymous proof POST costs blocks since the attach, not
    # a whole invoice window on every chain.
    floor_block = models.BigIntegerField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)  # a worker's lease
    enqueued_at = models.DateTimeField()  # the last time a task was sent for it
    # Runs since the scan last moved on (claims count, progress resets it).
    runs = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["request", "chain"], name="rescan_request_chain_unique"
            ),
        ]
        indexes = [models.Index(fields=["enqueued_at"], name="rescan_enqueued")]

    def __str__(self) -> str:
        start = "start" if self.next_from_block is None else self.next_from_block
        return f"rescan {self.request_id} on {self.chain_id} from {start}"
