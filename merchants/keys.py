"""API key format, hashing and lifecycle (decisions.md D6–D9)."""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import cache

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.sql import Columns, table

from .audit import audit_record
from .models import ApiKey, Partner

_ALPHABET = string.ascii_letters + string.digits  # base62
SECRET_LENGTH = 32
KEY_RE = re.compile(r"^jo_(live|test)_[A-Za-z0-9]{32}\Z")
DISPLAY_PREFIX_LENGTH = 12
LAST_USED_RESOLUTION = timedelta(minutes=1)  # D6: not on every call
VALID_SCOPES = frozenset(ApiKey.Scope.values)


def hash_key(full_key: str) -> str:
    return hashlib.sha256(full_key.encode()).hexdigest()


def is_well_formed(value: str) -> bool:
    return bool(KEY_RE.match(value))


def validate_scopes(scopes: Iterable[str] | None) -> list[str] | None:
    """``None`` = unrestricted; an empty or unknown-scope list is refused (D7)."""
    if scopes is None:
        return None
    scope_list = sorted(set(scopes))
    if not scope_list:
        raise ValueError(
            "an empty scope list is not allowed; omit scopes for full access"
        )
    unknown = [s for s in scope_list if s not in VALID_SCOPES]
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(unknown)}")
    return scope_list


def scopes_token(scopes: Iterable[str] | None) -> str:
    """The scopes as a page shows them, for its form to send back: ``"full"``
    for an unrestricted key (D7), else the sorted scopes joined by commas."""
    return "full" if scopes is None else ",".join(sorted(set(scopes)))


@transaction.atomic
def api_key_rename(*, key: ApiKey, name: str) -> ApiKey:
    """Give ``key`` a new name (a label; no effect on what the key may do).

    The change is in the partner's audit trail (``api_key.renamed``, the old
    and new names), as every other change of its keys; the same name again
    records nothing. Raises ``ValueError`` for a name longer than its column.
    """
    limit = ApiKey._meta.get_field("name").max_length
    if len(name) > limit:
        raise ValueError(f"a key name has at most {limit} characters")
    key = ApiKey.objects.select_for_update().select_related("partner").get(pk=key.pk)
    before = key.name
    if before == name:
        return key
    key.name = name
    key.save(update_fields=["name"])
    audit_record(
        partner=key.partner,
        test_mode=key.test_mode,
        action="api_key.renamed",
        target=key.prefix,
        details={"from": before, "to": name},
    )
    return key


class StaleScopesError(ValueError):
    """The key's scopes changed after the page that asks to change them was drawn."""


@transaction.atomic
def api_key_create(
    *,
    partner: Partner,
    test_mode: bool,
    name: str = "",
    scopes: Iterable[str] | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with the full secret, which is never stored.

    Raises ``ValueError`` for a bad scope list, a name longer than its column
    or an expiry in the past. The expiry is kept in UTC (D1); one past
    9999-12-31 in UTC (a local time that late with a negative offset) is
    refused too: stored, it was a timestamp Python cannot read, and every call
    with the key answered 500.
    """
    scope_list = validate_scopes(scopes)
    # Checked here: the database's DataError was a traceback out of
    # create_api_key instead of its one-line error (D31).
    limit = ApiKey._meta.get_field("name").max_length
    if len(name) > limit:
        raise ValueError(f"a key name has at most {limit} characters")
    if expires_at is not None:
        try:
            expires_at = expires_at.astimezone(UTC)
        except OverflowError:
            raise ValueError("expires_at is after 9999-12-31 UTC") from None
        if expires_at <= timezone.now():
            raise ValueError("expires_at is in the past")
    mode = "test" if test_mode else "live"
    full_key = f"jo_{mode}_" + "".join(
        secrets.choice(_ALPHABET) for _ in range(SECRET_LENGTH)
    )
    key = ApiKey.objects.create(
        partner=partner,
        test_mode=test_mode,
        name=name,
        scopes=scope_list,
        expires_at=expires_at,
        key_hash=hash_key(full_key),
        prefix=full_key[:DISPLAY_PREFIX_LENGTH],
    )
    audit_record(
        partner=partner,
        test_mode=test_mode,
        action="api_key.created",
        target=key.prefix,
        details={
            "name": name,
            "scopes": scope_list,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return key, full_key


@transaction.atomic
def api_key_revoke(*, key: ApiKey) -> ApiKey:
    """Revoke at once (D8); revoking twice keeps the first time."""
    if ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    ):
        audit_record(
            partner=key.partner,
            test_mode=key.test_mode,
            action="api_key.revoked",
            target=key.prefix,
        )
    key.refresh_from_db()
    return key


@transaction.atomic
def api_key_scopes_update(
    *,
    partner: Partner,
    test_mode: bool,
    key_id: uuid.UUID,
    scopes: Iterable[str] | None,
    loaded_as: str = "",
) -> ApiKey:
    """Replace the scopes of the partner's usable key in that mode (D7, D8).

    ``None`` makes the key unrestricted; a list replaces the old one whole, so
    a scope is added or removed by sending the list with or without it. The
    next request with the key sees the new scopes: authentication reads them
    from the row on every call, nothing caches them. The change is audited
    (``merchants.audit``), naming who made it.

    Raises ``JoPayError(not_found)`` for a key that is not ``partner``'s in
    that mode, exactly as for an unknown id (D10); ``ValueError`` for a bad
    scope list (the messages of ``api_key_create``) or a revoked or expired key.

    ``loaded_as``: the ``scopes_token`` of the key as the caller's page showed
    it. The page posts back every box, so when the scopes changed since (a
    colleague narrowed a leaked key), saving would put back what they removed:
    ``StaleScopesError`` instead, nothing written. The same change sent twice
    (a double post) is no conflict.
    """
    scope_list = validate_scopes(scopes)
    # Locked, so a revoke racing this change is either seen here or comes after.
    key = (
        ApiKey.objects.select_for_update()
        .filter(partner=partner, test_mode=test_mode, pk=key_id)
        .first()
    )
    if key is None:
        raise JoPayError(ErrorCode.NOT_FOUND)
    if not key.is_usable():
        raise ValueError("the key is revoked or expired; create a new key instead")
    before = key.scopes
    if before == scope_list:
        return key
    if loaded_as and loaded_as != scopes_token(before):
        raise StaleScopesError(
            f"The scopes of {key.prefix}… were changed (by another user of your "
            "account, or by JoPay) after you opened this page. Nothing was "
            "saved: reload the page to see the current scopes, then make your "
            "change again."
        )
    key.scopes = scope_list
    key.save(update_fields=["scopes"])
    audit_record(
        partner=partner,
        test_mode=test_mode,
        action="api_key.scopes_changed",
        target=key.prefix,
        details={"from": before, "to": scope_list},
    )
    return key


def api_key_authenticate(raw: str) -> ApiKey:
    """The usable key for a bearer value, else ``auth_failed`` (D9); no caching."""
    if not is_well_formed(raw):
        raise JoPayError(ErrorCode.AUTH_FAILED)
    key = _key_with_partner(hash_key(raw))
    now = timezone.now()
    if key is None or not key.is_usable(now) or not key.partner.is_active:
        raise JoPayError(ErrorCode.AUTH_FAILED)
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        # Conditional (D6: at most once a minute): of concurrent calls that all
        # read a stale value, one writes the row and the rest update nothing.
        ApiKey.objects.filter(
            Q(last_used_at__isnull=True)
            | Q(last_used_at__lte=now - LAST_USED_RESOLUTION),
            pk=key.pk,
        ).update(last_used_at=now)
        key.last_used_at = now
    return key


@cache
def _auth_statement() -> tuple[str, Columns, Columns]:
    key, partner = Columns(ApiKey, "k"), Columns(Partner, "p")
    revoked_at, expires_at, is_active = (
        f'"{model._meta.get_field(name).column}"'
        for model, name in (
            (ApiKey, "revoked_at"),
            (ApiKey, "expires_at"),
            (Partner, "is_active"),
        )
    )
    sql = (
        f"SELECT {key.sql}, {partner.sql} FROM {table(ApiKey)} k "  # noqa: S608
        f"JOIN {table(Partner)} p ON p.id = k.partner_id WHERE k.key_hash = %s "
        f"AND k.{revoked_at} IS NULL AND p.{is_active} "
        f"AND (k.{expires_at} IS NULL OR k.{expires_at} > CURRENT_TIMESTAMP)"
    )
    return sql, key, partner


def _key_with_partner(key_hash: str) -> ApiKey | None:
    """The usable key with that hash and its partner, in one prepared statement.

    A revoked key, or one of a switched-off partner, is no row, as an unknown
    key is: the answer (D9) and the time it takes are the same. Such a row
    used to be built into a model before it was refused, ~70 µs more than an
    unknown key, which told a caller holding an old key that it had been
    real. (An expired key too; the database's clock is only a first filter:
    ``api_key_authenticate`` decides expiry with the application's.)

    Runs on every API call, so it is hand-written (``jopay_project.sql``):
    the ORM's ``select_related`` query cost ~1 ms of compiling per call.
    """
    sql, key_columns, partner_columns = _auth_statement()
    with connection.cursor() as cursor:
        cursor.execute(sql, [key_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    key = key_columns.instance(row[: key_columns.width])
    key.partner = partner_columns.instance(row[key_columns.width :])
    return key
