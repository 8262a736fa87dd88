"""One helper writes the security/moderation audit trail."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from core.models import AuditEvent, User


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # Behind a proxy the deployment sets SECURE_PROXY_SSL_HEADER; we only trust REMOTE_ADDR,
    # which the ASGI server fills from the proxy protocol it is configured for.
    return request.META.get("REMOTE_ADDR") or None


def record_audit_event(
    *,
    kind: str,
    actor: User | None = None,
    subject_email: str = "",
    request: HttpRequest | None = None,
    **detail: Any,
) -> AuditEvent:
    """Append one audit row. Never raises on missing request data."""
    user_agent = ""
    if request is not None:
        user_agent = (request.META.get("HTTP_USER_AGENT") or "")[:255]
    return AuditEvent.objects.create(
        kind=kind,
        actor=actor if (actor is not None and actor.pk) else None,
        subject_email=subject_email or (actor.email if actor is not None else ""),
        ip_address=client_ip(request),
        user_agent=user_agent,
        detail=detail,
    )
