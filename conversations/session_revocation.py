"""Close a person's open WebSockets when their sessions stop being valid.

A socket is authenticated once, at the handshake; without this, a socket opened before a
logout, a password change, a second-factor reset, a suspension or an erasure kept working.
Two mechanisms, so that nothing depends on one message arriving:

- an event to the person's user group (``hub.disconnect``) the moment the change commits,
  naming the session when only one ended (logout) — every process closes its matching sockets;
- each socket re-validates its session every ``WS_SESSION_RECHECK_SECONDS`` before handling
  a frame (``session_is_valid``), which also covers sessions that expired or were deleted.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.utils.crypto import constant_time_compare

from conversations.events import user_group

logger = logging.getLogger(__name__)

CLOSE_CODE_SIGNED_OUT = 4401
CLOSE_CODE_SUSPENDED = 4403


def close_sockets_of(*, user_id: int, reason: str, session_key: str | None = None) -> None:
    """Ask every socket of ``user_id`` (or only those of ``session_key``) to close."""
    layer = get_channel_layer()
    if layer is None:
        return
    event: dict[str, Any] = {
        "type": "hub.disconnect",
        "code": reason,
        "close_code": CLOSE_CODE_SUSPENDED if reason == "suspended" else CLOSE_CODE_SIGNED_OUT,
        "session": session_key,
    }
    try:
        async_to_sync(layer.group_send)(user_group(user_id), event)
    except Exception:
        # The per-frame re-validation still closes these sockets at their next frame.
        logger.exception("Could not announce revoked sessions of user %s", user_id)


def on_sessions_revoked(*, user, reason: str, session_key: str | None = None, **_: Any) -> None:
    close_sockets_of(user_id=user.pk, reason=reason, session_key=session_key)


def on_user_logged_out(*, request, user, **_: Any) -> None:
    # Sent before the session is flushed, so its key still names the signed-out browser.
    if user is None or request is None:
        return
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        close_sockets_of(user_id=user.pk, reason="signed_out", session_key=key)


def session_is_valid(*, session: SessionBase | None, user_id: int) -> bool:
    """The socket's session still exists, still names this user, and the account may chat.

    One read of the session row (a missing or expired one loads empty) and one of the user: the same rules as Django's
    ``get_user`` (the password-derived hash must still match) plus our account states.
    """
    key = getattr(session, "session_key", None) if session is not None else None
    if not key:
        return False
    # One read: a session that no longer exists (or expired) loads as empty, naming nobody.
    data = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key).load()
    if str(data.get(SESSION_KEY)) != str(user_id) or not data.get(BACKEND_SESSION_KEY):
        return False
    from core.models import User

    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.is_active or user.is_suspended or user.erased_at:
        return False
    stored_hash = data.get(HASH_SESSION_KEY) or ""
    return bool(stored_hash) and constant_time_compare(stored_hash, user.get_session_auth_hash())
