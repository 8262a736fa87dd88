"""GDPR: export everything we hold about a person, erase what the law lets us erase.

Each app contributes through a registry rather than core importing every app: an app's
``gdpr.py`` module calls ``register_exporter`` / ``register_eraser`` at import, and
``CoreConfig.ready`` imports those modules. Erasure anonymises the account and personal
fields; order, offer and payment records the law requires us to keep stay, scrubbed of
personal data (see docs/gdpr.md).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.audit import record_audit_event
from core.models import AuditEvent, Consent, RecoveryCode, User
from core.signals import revoke_sessions_on_commit

Exporter = Callable[[User], Any]
Eraser = Callable[[User], None]

_exporters: dict[str, Exporter] = {}
_erasers: dict[str, Eraser] = {}


def register_exporter(section: str, exporter: Exporter) -> None:
    _exporters[section] = exporter


def register_eraser(name: str, eraser: Eraser) -> None:
    _erasers[name] = eraser


def _export_account(user: User) -> dict[str, Any]:
    return {
        "id": str(user.public_id),
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role,
        "preferred_language": user.preferred_language,
        "time_zone": user.time_zone,
        "date_joined": user.date_joined.isoformat(),
        "last_login": user.last_login.isoformat() if user.last_login else None,
        "two_factor_enabled": user.has_totp,
    }


def _export_consents(user: User) -> list[dict[str, Any]]:
    return [
        {
            "purpose": c.purpose,
            "granted": c.granted,
            "source": c.source,
            "at": c.created_at.isoformat(),
        }
        for c in Consent.objects.filter(user=user).order_by("created_at", "id")
    ]


def _export_security_events(user: User) -> list[dict[str, Any]]:
    return [
        {"kind": e.kind, "at": e.created_at.isoformat(), "ip": e.ip_address}
        for e in user.audit_events.order_by("created_at", "id")
    ]


register_exporter("account", _export_account)
register_exporter("consents", _export_consents)
register_exporter("security_events", _export_security_events)


def export_personal_data(*, user: User, request=None) -> dict[str, Any]:
    """Everything we hold about ``user`` as JSON-serialisable data."""
    data: dict[str, Any] = {
        "format": "atelier-export/1",
        "exported_at": timezone.now().isoformat(),
    }
    for section, exporter in sorted(_exporters.items()):
        data[section] = exporter(user)
    record_audit_event(kind=AuditEvent.Kind.DATA_EXPORT, actor=user, request=request)
    return data


@transaction.atomic
def erase_personal_data(*, user: User, request=None, actor: User | None = None) -> User:
    """Anonymise ``user`` and their personal data in every app; keep legal records."""
    for _name, eraser in sorted(_erasers.items()):
        eraser(user)
    token = secrets.token_hex(8)
    user.email = f"erased-{token}@erased.invalid"
    user.display_name = ""
    user.set_unusable_password()
    user.totp_secret = ""
    user.totp_confirmed_at = None
    user.is_active = False
    user.erased_at = timezone.now()
    user.save()
    RecoveryCode.objects.filter(user=user).delete()
    Consent.objects.filter(user=user).delete()
    # The audit row keeps only a hash-free marker: the email itself is personal data.
    user.audit_events.update(subject_email="", ip_address=None, user_agent="")
    record_audit_event(
        kind=AuditEvent.Kind.ERASURE,
        actor=actor or user,
        subject_email="",
        request=None,
        erased_user=str(user.public_id),
        requested_by="self" if actor is None else "admin",
    )
    revoke_sessions_on_commit(user=user, reason="account_erased")
    return user
