"""Whole-page cache for anonymous visitors, per language, invalidated by generation counters.

A signed-out visitor's storefront, catalogue, shop and product pages are the same for
everyone who reads the same language on the same host with the same query, so
``cache_public_page`` keeps the rendered body in the cache (Redis in production) and serves
it without running the view. What still differs per request is handled at serve time:

- the CSRF token of every form on the page (the language picker is on all of them): the
  stored body holds a placeholder, filled with this request's ``get_token`` — so the CSRF
  cookie is set exactly as if the view had run;
- everything the middleware adds on the way out (security headers, CSP, Content-Language,
  cookies) runs as usual, because the decorator sits on the view.

Not cached: signed-in people, requests other than GET/HEAD, a visitor with a flash message
waiting (or one the view added), query keys the view did not declare, responses other than
a plain 200, and a view that set a cookie or wrote to the session.

Invalidation is by generation: each page's key names the current value of the counters of
its scopes (``"all"`` for pages that list the whole catalogue, ``"shop:<slug>"`` for one
shop's pages, plus whatever shared scopes a page reads, such as ``"categories"``). A change
calls ``bump(...)``, which increments the counters of the scopes it names and always
``"all"``, so every page built on the old data is never read again (it expires by its TTL,
``PAGE_CACHE_SECONDS``, which is also the safety net for a change nobody bumped for). ``bump`` runs at once and
again after the surrounding transaction commits: a request that read the data just before
the commit built its key from the old generation, so it cannot store a stale page under the
new one.

If the cache is unreachable the page is rendered as if there were no cache.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import caches
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.translation import get_language

logger = logging.getLogger(__name__)

ALL = "all"
CATEGORIES = "categories"
CSRF_PLACEHOLDER = b"\x00atelier-csrf\x00"
_CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
HEADER = "X-Page-Cache"
# Headers the view itself may set that a cached copy should carry; the rest come from the
# middleware on every response.
_KEPT_HEADERS = ("Content-Type", "X-Frame-Options", "Content-Language", "Link")

View = Callable[..., HttpResponse]


def shop_scope(slug: str) -> str:
    return f"shop:{slug}"


def _cache():
    return caches[getattr(settings, "PAGE_CACHE_ALIAS", "default")]


def _seconds() -> int:
    return int(getattr(settings, "PAGE_CACHE_SECONDS", 0) or 0)


def _generation_key(scope: str) -> str:
    return f"pagegen:{scope}"


def _bump_now(scopes: tuple[str, ...]) -> None:
    cache = _cache()
    for scope in scopes:
        key = _generation_key(scope)
        try:
            cache.incr(key)
        except ValueError:  # not there yet (or evicted): start from a value never used
            cache.set(key, time.time_ns(), timeout=None)
        except Exception:  # the cache is down: pages built now are not stored either
            logger.warning("page cache: could not bump %s", scope, exc_info=True)


def enabled() -> bool:
    return _seconds() > 0


def bump(*scopes: str) -> None:
    """The pages of these scopes (and every catalogue-wide page) are out of date."""
    if not enabled():
        return
    wanted = tuple(dict.fromkeys((ALL, *scopes)))
    _bump_now(wanted)
    transaction.on_commit(lambda: _bump_now(wanted), robust=True)


def _generations(scopes: Iterable[str]) -> list[int]:
    cache = _cache()
    keys = [_generation_key(scope) for scope in scopes]
    found = cache.get_many(keys)
    values = []
    for key in keys:
        if key not in found:
            cache.add(key, time.time_ns(), timeout=None)
            found[key] = cache.get(key)
        values.append(found[key])
    return values


def _query_allowed(
    request: HttpRequest, keys: Mapping[str, str], prefixes: Mapping[str, str]
) -> bool:
    """Every parameter is declared and its one value has the declared shape (so a stranger's
    made-up values are rendered, not stored: the cache holds only pages people can link to)."""
    for key, values in request.GET.lists():
        pattern = keys.get(key)
        if pattern is None:
            pattern = next((p for prefix, p in prefixes.items() if key.startswith(prefix)), None)
        if pattern is None or len(values) != 1 or not re.fullmatch(pattern, values[0]):
            return False
    return True


def _page_key(request: HttpRequest, generations: list[int]) -> str:
    query = sorted(request.GET.items())
    digest = hashlib.sha256(repr((request.get_host(), request.path, query)).encode()).hexdigest()
    marks = ".".join(str(g) for g in generations)
    return f"page:{get_language() or ''}:{marks}:{digest[:32]}"


def _cacheable_request(request: HttpRequest) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return False
    # A flash message waiting for this visitor (cookie storage is read without a query).
    return len(get_messages(request)) == 0


def _storable(request: HttpRequest, response: HttpResponse) -> bool:
    session = getattr(request, "session", None)
    queued = getattr(getattr(request, "_messages", None), "_queued_messages", None)
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not (session is not None and session.modified)
        and not queued  # a flash message the view added is this visitor's alone
    )


def _stored_copy(response: HttpResponse) -> dict[str, Any]:
    body = response.content
    for token in set(_CSRF_INPUT.findall(body)):
        body = body.replace(token, CSRF_PLACEHOLDER)
    headers = [(name, response[name]) for name in _KEPT_HEADERS if response.has_header(name)]
    return {"body": body, "headers": headers}


def _from_copy(request: HttpRequest, copy: dict[str, Any]) -> HttpResponse:
    body = copy["body"]
    if CSRF_PLACEHOLDER in body:
        body = body.replace(CSRF_PLACEHOLDER, get_token(request).encode())
    response = HttpResponse(body)
    for name, value in copy["headers"]:
        response[name] = value
    return response


def cache_public_page(
    *,
    scopes: Callable[..., Iterable[str]] | None = None,
    query_keys: Mapping[str, str] | None = None,
    query_prefixes: Mapping[str, str] | None = None,
) -> Callable[[View], View]:
    """Serve the view's page to signed-out visitors from the cache (see the module doc).

    ``scopes(**view_kwargs)`` names the data scopes the page shows (default: the whole
    catalogue, ``ALL``, which every change bumps); ``query_keys`` / ``query_prefixes`` map the
    query parameters the page reads (by name, or by name prefix) to the regular expression
    their value must match (any other parameter is rendered uncached rather than filling
    the cache).
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            seconds = _seconds()
            if (
                not seconds
                or not _cacheable_request(request)
                or not _query_allowed(request, query_keys or {}, query_prefixes or {})
            ):
                return view(request, *args, **kwargs)
            named = tuple(scopes(**kwargs)) if scopes else (ALL,)
            cache = _cache()
            try:
                key = _page_key(request, _generations(named))
                copy = cache.get(key)
            except Exception:
                logger.warning("page cache: unreachable, rendering", exc_info=True)
                return view(request, *args, **kwargs)
            if copy is not None:
                response = _from_copy(request, copy)
                response[HEADER] = "hit"
                return response
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
            if _storable(request, response):
                try:
                    cache.set(key, _stored_copy(response), timeout=seconds)
                except Exception:
                    logger.warning("page cache: could not store %s", request.path, exc_info=True)
                response[HEADER] = "miss"
            return response

        return wrapper

    return decorate
