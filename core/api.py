"""The JSON API root (django-ninja). Apps contribute routers; the schema is at /api/schema/.

Errors always have the shape ``{"code": ..., "message": ..., "field"?: ...}``; a rate-limited
request (429) also has ``retry_after`` (seconds) and a ``Retry-After`` header. The database
unreachable or timing out is ``503 {"code": "unavailable", "retry_after": 1}`` (retry the
same request: nothing was committed).
"""

from __future__ import annotations

import logging
import math

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import django_auth
from pydantic.json_schema import SkipJsonSchema

from core.ratelimits import ApiWriteThrottle

logger = logging.getLogger(__name__)


def _without_nul(value: object) -> object:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


class NulFreeParser(Parser):
    """PostgreSQL text cannot hold NUL (a DataError, so a 500, at the first query that binds
    one): drop it from every string of a JSON body and of the query, as ``post_message`` does
    for message text. Path parameters are the operations' own (``order_for_viewer``)."""

    def parse_body(self, request: HttpRequest) -> dict:
        return _without_nul(super().parse_body(request))

    def parse_querydict(self, data, list_fields, request) -> dict:  # noqa: ANN001 - ninja's
        return _without_nul(super().parse_querydict(data, list_fields, request))


api = NinjaAPI(
    title="Atelier API",
    version="1.0",
    description="Conversations, messages and commerce for Atelier. Session-authenticated.",
    urls_namespace="api",
    openapi_url="/schema/",
    docs_url="/docs/",
    auth=django_auth,
    parser=NulFreeParser(),
    # Writes (POST/PUT/PATCH/DELETE) per person, RATE_LIMITS["api_write"] (core/ratelimits.py).
    throttle=[ApiWriteThrottle()],
)


class ErrorOut(Schema):
    """The one error body of the API (every 4xx); ``field`` and ``retry_after`` only when set."""

    code: str
    message: str
    # Absent (never null) when unset, so the schema shows plain optional properties.
    field: str | SkipJsonSchema[None] = None
    retry_after: float | SkipJsonSchema[None] = None


# What every operation of a signed-in router can answer besides its own errors: 401 (no
# session), 422 (a parameter or body that does not validate). Writes add 403 (the session's
# CSRF check, and the operation's own refusals) and 429 (ApiWriteThrottle).
# 503: the database was unreachable or timed out (``_database_unavailable``), on any call.
_READ_ERRORS = (401, 422, 503)
_WRITE_ERRORS = (401, 403, 422, 429, 503)


def read_responses(*errors: int, ok: object = dict) -> dict[int, object]:
    """``response=`` for a signed-in read: 200 ``ok`` plus its error statuses as ``ErrorOut``."""
    return {200: ok, **dict.fromkeys(sorted({*_READ_ERRORS, *errors}), ErrorOut)}


def write_responses(*errors: int, ok: object = dict) -> dict[int, object]:
    """``response=`` for a signed-in write (POST/PUT/PATCH/DELETE), throttled and CSRF-checked."""
    return {200: ok, **dict.fromkeys(sorted({*_WRITE_ERRORS, *errors}), ErrorOut)}


class ApiError(Exception):
    """Raised by API views for a clear, coded error."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        field: str | None = None,
        *,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.code, self.message, self.status, self.field = code, message, status, field
        self.retry_after = retry_after


def _error(request, code, message, status, field=None, retry_after=None) -> HttpResponse:
    body = {"code": code, "message": message}
    if field:
        body["field"] = field
    if retry_after is not None:
        body["retry_after"] = round(retry_after, 1)
    response = api.create_response(request, body, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(max(1, math.ceil(retry_after)))  # whole seconds
    return response


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return _error(request, exc.code, exc.message, exc.status, exc.field, exc.retry_after)


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    loc = [
        str(p) for p in first.get("loc", []) if p not in ("body", "query", "path", "form", "file")
    ]
    # ninja prefixes body fields with the parameter name ("data.client_id"): drop it.
    field = ".".join(loc[1:] if len(loc) > 1 else loc) or None
    message = first.get("msg", "Invalid input.")
    return _error(request, "invalid", f"{field}: {message}" if field else message, 422, field)


@api.exception_handler(ValidationError)
def _django_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        field, errors = next(iter(exc.message_dict.items()))
        return _error(request, "invalid", errors[0], 422, field)
    return _error(request, "invalid", exc.messages[0], 422)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, "not_authenticated", "Sign in first.", 401)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, "forbidden", str(exc) or "You cannot do this.", 403)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, "not_found", str(exc) or "Not found.", 404)


@api.exception_handler(Throttled)
def _throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    return _error(
        request, "rate_limited", _("Too many requests. Wait a minute and try again."), 429
    )


@api.exception_handler(OperationalError)
def _database_unavailable(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    # The database is unreachable or timed out (connect_timeout, DB_POOL_TIMEOUT,
    # statement_timeout): nothing was committed, so the same request (same client_id) is
    # safe to retry. A coded JSON answer, not the HTML 500 page (core/error_views.py does
    # the same for a failure before the view, e.g. loading the session).
    logger.warning("API request failed on the database: %s", exc)
    return _error(request, "unavailable", _("Something went wrong. Try again."), 503, retry_after=1)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, "error", str(exc), exc.status_code)


@api.get("/health/", auth=None, tags=["system"])
def health(request: HttpRequest) -> dict:
    """Liveness: the process answers and reaches its database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"status": "ok"}


@csrf_exempt  # it only ever answers 404; a write without a token must not get HTML 403
def api_not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """A path under /api/ that no operation matches (e.g. a path parameter holding an encoded
    ``/``): the API's JSON 404, not the site's HTML page. Mounted after ``api.urls``."""
    return JsonResponse({"code": "not_found", "message": "Not found."}, status=404)


def register_routers() -> None:
    """Mount each app's router (imported late so apps stay independent of core)."""
    from django.utils.module_loading import import_string

    for prefix, path in ROUTERS:
        api.add_router(prefix, import_string(path))


ROUTERS = [
    ("/conversations/", "conversations.api.router"),
    ("/commerce/", "commerce.api.router"),
]
register_routers()
