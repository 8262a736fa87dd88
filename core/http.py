"""Small request helpers shared by the page views of every app."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def is_same_site_url(request: HttpRequest, url: str) -> bool:
    """True for a URL on this site (relative, or this host), and HTTPS when the request is."""
    return bool(url) and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


def safe_next_url(request: HttpRequest, *, fallback: str) -> str:
    """The ``next`` parameter (POST, then GET) when it stays on this site, else ``fallback``.

    Guards every "go back to where you were" redirect against open redirects.
    """
    target = request.POST.get("next") or request.GET.get("next") or ""
    return target if is_same_site_url(request, target) else fallback
