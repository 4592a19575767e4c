"""The audit trail: who changed what in a partner's account (``AuditEntry``).

The services that change keys, webhooks, settings, FX overrides and merchants
call ``audit_record`` inside their own transaction. *Who* is not a service
argument: the caller's entry point says it once per request, through a
context variable —

* the API's authentication: the key (``jo_live_AbCd…`` prefix);
* the portal's ``portal_view``: the signed-in partner user's e-mail;
* ``AuditActorMiddleware``: a staff user in the admin;
* the onboarding page: the merchant, through its link;
* a ``manage.py`` command: the operator, by command name;
* anything else (Celery tasks): JoPay itself.

The middleware clears it after every request, so a worker thread never
carries one request's actor into the next.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from .models import AuditEntry, Partner

logger = logging.getLogger("jopay.audit")

Kind = AuditEntry.ActorKind
Actor = tuple[str, str]  # (AuditEntry.ActorKind, label)

_actor: ContextVar[Actor | None] = ContextVar("jopay_audit_actor", default=None)


def actor_set(kind: str, label: str) -> None:
    """Name who is acting for the rest of this request (or task)."""
    _actor.set((str(kind), label[:254]))


@contextmanager
def acting_as(kind: str, label: str) -> Iterator[None]:
    token = _actor.set((str(kind), label[:254]))
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> Actor:
    actor = _actor.get()
    if actor is not None:
        return actor
    program = sys.argv[0] if sys.argv else ""
    if program.endswith("manage.py") and len(sys.argv) > 1:
        return (Kind.OPERATOR, f"manage.py {sys.argv[1]}")
    return (Kind.SYSTEM, "JoPay")


def audit_record(
    *,
    partner: Partner | None,
    action: str,
    target: object = "",
    test_mode: bool | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one entry for a change made by the current actor.

    Call it inside the transaction of the change: it is rolled back with it,
    and its log line is written only when that transaction commits.
    ``details`` must be JSON and never hold a secret (a key, a webhook secret).
    """
    kind, label = current_actor()
    entry = AuditEntry.objects.create(
        partner=partner,
        test_mode=test_mode,
        actor_kind=kind,
        actor=label,
        action=action,
        target=str(target)[:100],
        details=details or {},
    )
    line = (
        "audit partner=%s mode=%s actor=%s:%s action=%s target=%s",
        partner.slug if partner else "-",
        {None: "-", True: "test", False: "live"}[test_mode],
        kind,
        label,
        action,
        entry.target,
    )
    # Logged once the change commits: a line written before a rollback told
    # the operator about keys or pins that never existed.
    transaction.on_commit(lambda: logger.info(*line))
    return entry


class AuditActorMiddleware:
    """Starts every request with no actor (a staff user in the admin) and
    clears it afterwards. After ``AuthenticationMiddleware``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _actor.set(None)
        try:
            user = getattr(request, "user", None)
            if (
                request.path.startswith("/admin/")
                and user is not None
                and user.is_authenticated
                and user.is_staff
            ):
                _actor.set((Kind.STAFF, user.get_username()))
            return self.get_response(request)
        finally:
            _actor.reset(token)
