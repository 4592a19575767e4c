import contextlib

from rest_framework import exceptions
from rest_framework.request import Request

from .api import JoPayApiView
from .errors import ErrorCode, JoPayError


class ApiNotFound(JoPayApiView):
    """Any unknown route under /api/v1, whatever the method (D3).

    Still a v1 answer, so it is counted and carries ``X-RateLimit-*`` (D27):
    per key when the caller sent a usable one, per client address otherwise.
    A missing or bad key does not outrank the 404: the route does not exist
    for anyone, so there is nothing to authenticate for.
    """

    rate_group = "api.unknown_route"
    permission_classes = []

    def perform_authentication(self, request: Request) -> None:
        # On failure DRF has already set user/auth to the unauthenticated values.
        with contextlib.suppress(exceptions.APIException):
            request.user  # noqa: B018 (runs the authenticator)

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise JoPayError(ErrorCode.NOT_FOUND)

    options = http_method_not_allowed
