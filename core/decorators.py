"""Access rules as one reusable decorator/mixin per rule, plus the consumer-side equivalent.

- ``sensitive_action``: the person re-authenticated (password + 2FA when enrolled) within
  ``REAUTH_WINDOW_MINUTES``; otherwise HTML requests go to the re-auth page and come back,
  JSON requests get ``403 {"code": "reauth_required"}``.
- ``role_required``: the person has one of the roles.
- ``seller_required``: an artisan with 2FA enrolled (artisans must enrol before selling).
- ``admin_required``: a platform admin with 2FA enrolled (the moderation console).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from asgiref.sync import sync_to_async
from django.contrib.auth.mixins import AccessMixin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from core.models import Role
from core.security import is_recently_authenticated

View = Callable[..., HttpResponse]


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def json_error(code: str, message: str, status: int, **extra: Any) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, **extra}, status=status)


def _login_redirect(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        return json_error("not_authenticated", "Sign in first.", 401)
    return redirect(f"{reverse('core:login')}?{urlencode({'next': request.get_full_path()})}")


def reauth_redirect(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        return json_error(
            "reauth_required",
            "Confirm your password (and 2FA code) to continue.",
            403,
            reauth_url=reverse("core:reauth"),
        )
    return redirect(f"{reverse('core:reauth')}?{urlencode({'next': request.get_full_path()})}")


def sensitive_action(view: View) -> View:
    """Require a fresh re-authentication for a high-sensitivity view."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return _login_redirect(request)
        if request.user.is_artisan and not request.user.has_totp:
            if wants_json(request):
                return json_error("two_factor_required", "Set up two-factor authentication.", 403)
            return redirect(f"{reverse('core:totp_setup')}?{urlencode({'next': request.path})}")
        if not is_recently_authenticated(request.session):
            return reauth_redirect(request)
        return view(request, *args, **kwargs)

    return wrapper


def recently_authenticated(view: View) -> View:
    """Require a fresh re-authentication only (no 2FA precondition): enrolling a second
    factor and exporting one's data, where a stolen session must not be enough."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return _login_redirect(request)
        if not is_recently_authenticated(request.session):
            return reauth_redirect(request)
        return view(request, *args, **kwargs)

    return wrapper


def role_required(*roles: str) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return _login_redirect(request)
            user = request.user
            if user.role not in roles and not (Role.ADMIN in roles and user.is_superuser):
                if wants_json(request):
                    return json_error("forbidden", "Your account cannot do this.", 403)
                return HttpResponse(status=403, content=b"Your account cannot open this page.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def seller_required(view: View) -> View:
    """Artisan with 2FA enrolled; otherwise sent to 2FA setup with a way back."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return _login_redirect(request)
        if not request.user.is_artisan:
            if wants_json(request):
                return json_error("forbidden", "Only artisans can do this.", 403)
            return HttpResponse(status=403, content=b"Only artisans can open this page.")
        if not request.user.has_totp:
            if wants_json(request):
                return json_error(
                    "two_factor_required", "Set up two-factor authentication to sell.", 403
                )
            return redirect(
                f"{reverse('core:totp_setup')}?{urlencode({'next': request.get_full_path()})}"
            )
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view: View) -> View:
    """A platform admin with confirmed 2FA (moderation); otherwise sent to enrol, and back."""
    by_role = role_required(Role.ADMIN)

    @wraps(view)
    def enrolled(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.has_totp:
            if wants_json(request):
                return json_error(
                    "two_factor_required",
                    _("Set up two-factor authentication to moderate."),
                    403,
                )
            return redirect(
                f"{reverse('core:totp_setup')}?{urlencode({'next': request.get_full_path()})}"
            )
        return view(request, *args, **kwargs)

    return by_role(enrolled)


class SensitiveActionMixin(AccessMixin):
    """Class-based equivalent of ``sensitive_action``."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return sensitive_action(super().dispatch)(request, *args, **kwargs)


async def consumer_recently_authenticated(scope: dict[str, Any]) -> bool:
    """Consumer-side check: the WebSocket's session holds a fresh re-authentication."""
    session = scope.get("session")
    if session is None:
        return False
    return await sync_to_async(is_recently_authenticated)(session)
