"""Keep a Celery worker up when Redis goes away while it holds tasks.

On losing the broker, Celery 5.7's consumer tears the connection's transport
down (``collect``) and then closes the connection. Closing kombu's Redis
channel hands its unacknowledged messages (a task in flight, one waiting for
its countdown) back to the broker through that transport, which no longer has
a client: ``AttributeError: 'NoneType' object has no attribute 'hostname'``.
That is no connection error, so the worker stopped ("Unrecoverable error")
instead of reconnecting (the drills of OPERATIONS.md). A task that was running
meanwhile then acknowledged itself through the same dead channel, with the
same end.

Nothing can be handed back to, or acknowledged by, a broker that is gone. The
messages stay in Redis's set of unacknowledged messages, where the visibility
timeout (600 s, settings) puts them back in the queue if Redis kept its data
(a task may then run twice: every task is safe to); if it did not, the
database's safety nets (outbox sweeper, proof re-check, rescan resume) find the
work, as for any lost task.
"""

from __future__ import annotations

import logging

from kombu.transport import redis as kombu_redis

logger = logging.getLogger("jopay.tasks")

_QoS = kombu_redis.QoS
_originals = {
    name: getattr(_QoS, name) for name in ("restore_unacked", "ack", "reject")
}


def _torn_down(qos) -> bool:
    """Whether ``qos``'s channel lost its transport (closed or collected)."""
    transport = getattr(qos.channel, "connection", None)
    return transport is None or getattr(transport, "client", None) is None


def _restore_unacked(self, client=None):
    if client is None and _torn_down(self):
        logger.warning(
            "broker connection lost: %d unacknowledged task(s) left to Redis "
            "(back in the queue after the visibility timeout, or found again by "
            "the sweepers)",
            len(self._delivered),
        )
        self._delivered.clear()
        return None
    return _originals["restore_unacked"](self, client)


def _ack(self, delivery_tag):
    if _torn_down(self):
        logger.warning(
            "broker connection lost: a finished task could not be acknowledged "
            "(it may run again: every task is safe to)"
        )
        return None
    return _originals["ack"](self, delivery_tag)


def _reject(self, delivery_tag, requeue=False):
    if _torn_down(self):
        logger.warning("broker connection lost: a task could not be rejected")
        return None
    return _originals["reject"](self, delivery_tag, requeue=requeue)


def install() -> None:
    """Idempotent: guard kombu's Redis ``QoS`` against a torn-down transport."""
    _QoS.restore_unacked = _restore_unacked
    _QoS.ack = _ack
    _QoS.reject = _reject
