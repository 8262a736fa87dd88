"""Structured logs: one JSON object per line in production, readable lines in development.

Every log line — ours through ``logging.getLogger(__name__)`` or ``structlog.get_logger()``,
Django's, Celery's, uvicorn's — goes through the one ``LOGGING`` dict in ``core/settings.py``,
whose formatter is structlog's ``ProcessorFormatter``. It merges structlog's context
variables into each line, so what a request, a task or a socket bound shows up on every
line it causes:

- ``request_id`` — ``RequestIdMiddleware`` takes a valid ``X-Request-ID`` from the proxy or
  makes one, binds it for the request and returns it in the response header;
- ``task_id`` / ``task`` — bound around every Celery task (``core/celery.py`` signals);
- ``ws_connection_id`` — bound when a WebSocket connects (``bind_websocket_connection``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
# Short token characters only: anything else (spaces, quotes, newlines, 200 characters of
# junk) could forge or break log lines and is replaced by an id of our own.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

logger = structlog.get_logger(__name__)

# Applied to every record, structlog's or the standard library's, before rendering.
SHARED_PROCESSORS: list[Callable[..., Any]] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.ExtraAdder(),
]


def formatter(fmt: str) -> dict[str, Any]:
    """A ``logging.config`` formatter entry: ``json`` or ``console``."""
    if fmt not in ("json", "console"):
        raise ValueError(f"LOG_FORMAT must be 'json' or 'console', not {fmt!r}.")
    renderer = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    final = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if fmt == "json":
        final.append(structlog.processors.format_exc_info)
    return {
        "()": structlog.stdlib.ProcessorFormatter,
        "foreign_pre_chain": SHARED_PROCESSORS,
        "processors": [*final, renderer],
    }


def configure_structlog() -> None:
    """structlog loggers hand their events to the standard library (and so to LOGGING)."""
    structlog.configure(
        processors=[
            *SHARED_PROCESSORS[:-1],  # ExtraAdder is for stdlib records only
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def valid_request_id(value: str | None) -> str | None:
    return value if value and _VALID_REQUEST_ID.match(value) else None


class RequestIdMiddleware:
    """Bind ``request_id`` for the request's log lines and echo it as ``X-Request-ID``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = valid_request_id(request.headers.get(REQUEST_ID_HEADER)) or uuid.uuid4().hex
        request.request_id = request_id
        # Bound until the next request starts, not reset on the way out: Django logs 4xx/5xx
        # responses (django.request) after the middleware chain has returned, and those lines
        # need the id too. Under ASGI each request runs in its own task's context copy, so
        # nothing leaks between requests; a WSGI thread starts each request with a clean slate.
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


def bind_websocket_connection(scope: dict[str, Any]) -> str:
    """Bind a connection id for every log line of this socket's task; returns the id."""
    connection_id = uuid.uuid4().hex[:16]
    user = scope.get("user")
    user_id = user.pk if user is not None and user.is_authenticated else None
    structlog.contextvars.bind_contextvars(ws_connection_id=connection_id, user_id=user_id)
    logger.info("websocket connected", path=scope.get("path"))
    return connection_id


_task_tokens: dict[str, dict[str, Any]] = {}


def bind_task(*, task_id: str | None, task_name: str | None) -> None:
    if task_id:
        _task_tokens[task_id] = structlog.contextvars.bind_contextvars(
            task_id=task_id, task=task_name
        )


def unbind_task(*, task_id: str | None) -> None:
    tokens = _task_tokens.pop(task_id, None) if task_id else None
    if tokens:
        structlog.contextvars.reset_contextvars(**tokens)
