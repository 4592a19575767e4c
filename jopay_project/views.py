from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .errors import ErrorCode, error_json_response


@csrf_exempt
def api_not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any unknown route under /api/v1, whatever the method (D3)."""
    return error_json_response(ErrorCode.NOT_FOUND)
