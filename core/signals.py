"""Signals core sends for the apps above it (core imports no app).

``sessions_revoked``: a person's existing sessions stop being valid — password changed, second
factor removed or replaced, account suspended or erased. Sent after the change commits with
``user`` (the ``User``), ``reason`` (a code) and ``session_key`` (only that session, e.g. at
logout; ``None`` means every session of the user). The hub closes the matching WebSockets.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

sessions_revoked = Signal()


def revoke_sessions_on_commit(*, user, reason: str, session_key: str | None = None) -> None:
    """Announce, once the current transaction commits, that ``user``'s sessions are revoked."""

    def send() -> None:
        sessions_revoked.send(sender=type(user), user=user, reason=reason, session_key=session_key)

    transaction.on_commit(send)
