"""Content-Security-Policy: django-csp's middleware plus the per-request parts of the policy.

The static policy is ``CONTENT_SECURITY_POLICY`` in settings (docs/security.md). Three parts
depend on the request, so they are added here:

- ``connect-src`` names ``ws(s)://<this host>``: CSP 3 lets ``'self'`` match the socket's
  scheme, but older engines do not, and the chat must work everywhere.
- Stripe.js (script, its frames and its API) when it is the configured gateway; its URL is
  read per request (tests point it at a stand-in).
- ``frame-ancestors`` follows the view's clickjacking choice: ``'none'`` everywhere, ``'self'``
  for views that chose ``X-Frame-Options: SAMEORIGIN`` (the chat widget's frame).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.constants import SELF
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

STRIPE_JS_ORIGIN = "https://js.stripe.com"
# Stripe.js talks to its API and opens frames on these hosts (Stripe's CSP guide).
STRIPE_EXTRA = {
    "connect-src": ["https://api.stripe.com"],
    "frame-src": ["https://hooks.stripe.com"],
}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def request_policy_update(request: HttpRequest, response: HttpResponseBase) -> dict[str, list]:
    """Directives this request adds to the configured policy."""
    host = request.get_host()
    sockets = [f"wss://{host}"] if request.is_secure() else [f"ws://{host}", f"wss://{host}"]
    update: dict[str, list] = {"connect-src": sockets}
    if getattr(settings, "PAYMENT_GATEWAY", "") == "stripe":
        stripe_origin = _origin(settings.STRIPE_JS_URL)
        if stripe_origin:
            for directive in ("script-src", "frame-src", "connect-src"):
                update.setdefault(directive, []).append(stripe_origin)
            if stripe_origin == STRIPE_JS_ORIGIN:
                for directive, sources in STRIPE_EXTRA.items():
                    update.setdefault(directive, []).extend(sources)
    return update


class AtelierCSPMiddleware(CSPMiddleware):
    """django-csp's middleware with the request-dependent directives above."""

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        update = request_policy_update(request, response)
        for directive, sources in (parts.update or {}).items():
            update.setdefault(directive, [])
            update[directive] = [*update[directive], *sources]
        parts.update = update
        if response.get("X-Frame-Options", "").upper() == "SAMEORIGIN":
            parts.replace = {**(parts.replace or {}), "frame-ancestors": [SELF]}
        return parts
