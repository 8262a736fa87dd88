"""HTTP rate limits (django-ratelimit) on the account pages and the JSON API's writes.

Counters live in the shared cache (Redis in production, locmem in development and tests)
through ``ResilientCache``: when Redis is unreachable they fall back to this process's
memory, so a cache outage never turns sign-in into a server error (the same property as
``core.security.Throttle``). A limited request gets HTTP 429 with a translated message
(``too_many_requests``), as HTML or as the API's ``{"code", "message"}`` JSON.

Rates are settings (``RATE_LIMITS``), read per request, in django-ratelimit's notation
("10/m", "20/h"). The message-send limit lives in the message service, not here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django_ratelimit import UNSAFE
from django_ratelimit.core import get_usage
from ninja.throttling import BaseThrottle

from core.audit import client_ip

logger = logging.getLogger(__name__)

RATELIMIT_CACHE_ALIAS = "ratelimit"


class ResilientCache(BaseCache):
    """A cache alias that forwards to another alias (``LOCATION``) and falls back to this
    process's memory when that one raises (Redis down, timeouts)."""

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        self._primary_alias = location or "default"
        self._local = LocMemCache(f"atelier-ratelimit-fallback-{self._primary_alias}", {})

    def _call(self, operation: str, *args, **kwargs):
        try:
            return getattr(caches[self._primary_alias], operation)(*args, **kwargs)
        except ValueError:
            raise  # incr of a missing key: the caller's business
        except Exception as error:  # redis.ConnectionError, TimeoutError, ...
            logger.warning("Shared cache unavailable for rate limits: %s", error)
            return getattr(self._local, operation)(*args, **kwargs)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._call("get", key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", key, timeout, version)

    def delete(self, key, version=None):
        return self._call("delete", key, version)

    def incr(self, key, delta=1, version=None):
        return self._call("incr", key, delta, version)

    def has_key(self, key, version=None):
        return self._call("has_key", key, version)

    def clear(self):
        self._local.clear()
        return self._call("clear")


# --- Keys and rates -------------------------------------------------------------------------


def ip_key(group: str, request: HttpRequest) -> str:
    """The client address as the ASGI server reports it (trusted proxies only; see
    docs/security.md) — never a client-supplied X-Forwarded-For."""
    return client_ip(request) or "unknown"


def user_or_ip_key(group: str, request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{ip_key(group, request)}"


def email_key(group: str, request: HttpRequest) -> str:
    return (request.POST.get("email") or "").strip().lower()


def rate(name: str) -> Callable[[str, HttpRequest], str | None]:
    """A rate read from ``settings.RATE_LIMITS[name]`` at request time (tests change it)."""

    def current(group: str, request: HttpRequest) -> str | None:
        return settings.RATE_LIMITS.get(name) or None

    return current


def too_many_requests(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """django-ratelimit's RATELIMIT_VIEW: HTTP 429 with a translated message."""
    message = _("Too many requests. Wait a minute and try again.")
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"code": "rate_limited", "message": message}, status=429)
    return render(request, "core/too_many_requests.html", {"message": message}, status=429)


class ApiWriteThrottle(BaseThrottle):
    """django-ninja throttle for the API's writes (POST/PUT/PATCH/DELETE), per person (per
    address when signed out), counted by django-ratelimit in the resilient cache."""

    group = "api-write"

    def __init__(self) -> None:
        self._time_left: float | None = None

    def allow_request(self, request: HttpRequest) -> bool:
        usage = get_usage(
            request,
            group=self.group,
            key=user_or_ip_key,
            rate=rate("api_write"),
            method=UNSAFE,
            increment=True,
        )
        if usage is None or not usage["should_limit"]:
            return True
        self._time_left = max(1, usage["time_left"])
        return False

    def wait(self) -> float | None:
        return self._time_left
