"""DRF authentication and scope checks for ``Authorization: Bearer`` (D7, D9, D10)."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from jopay_project.errors import JoPayError
from jopay_project.tenancy import Tenant

from .audit import actor_set
from .keys import api_key_authenticate
from .models import AuditEntry


class InsufficientScope(exceptions.PermissionDenied):
    def __init__(self, required_scope: str):
        self.required_scope = required_scope
        super().__init__(f"needs scope {required_scope}")


class ApiKeyAuthentication(BaseAuthentication):
    """Sets ``request.auth`` to the ApiKey and ``request.tenant`` to partner + mode.

    No header, or a scheme other than Bearer → ``unauthorized``; a bearer value
    that is malformed, unknown, revoked or expired → ``auth_failed`` (D9).
    """

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, value = header.partition(" ")
        if not header or scheme.lower() != "bearer" or not value.strip():
            return None  # → NotAuthenticated → unauthorized
        try:
            key = api_key_authenticate(value.strip())
        except JoPayError:
            raise exceptions.AuthenticationFailed() from None
        request.tenant = Tenant(partner=key.partner, test_mode=key.test_mode)
        actor_set(AuditEntry.ActorKind.API_KEY, key.prefix)
        return (key.partner, key)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="jopay"'


class HasApiKey(BasePermission):
    """A usable key was presented, and it carries the view's ``required_scope``."""

    def has_permission(self, request, view) -> bool:
        if request.auth is None:
            raise exceptions.NotAuthenticated()
        scope = (
            view.get_required_scope(request)
            if hasattr(view, "get_required_scope")
            else getattr(view, "required_scope", None)
        )
        if scope and not request.auth.has_scope(scope):
            raise InsufficientScope(scope)
        return True
