"""The one way real-time events leave the server: ``broadcast_on_commit``.

Events are sent only after the transaction that produced them commits, so a client never
sees a message the database could still roll back. Each event goes to a group as
``{"type": "hub.event", "event": {"type": <event_type>, ...payload}}``; consumers forward
``event`` to the socket unchanged. Payloads are documented in docs/protocol.md.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

EVENT_TYPES = {
    "message.new",
    "message.updated",
    "message.translated",
    "read",
    "typing",
    "presence",
    "conversation.updated",
    "offer.updated",
    "order.status",
}


def conversation_group(conversation_id: int) -> str:
    return f"conv.{conversation_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def send_event_now(group: str, event_type: str, payload: dict[str, Any]) -> None:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {event_type!r}")
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            group, {"type": "hub.event", "event": {"type": event_type, **payload}}
        )
    except Exception:
        # The database is the source of truth: a lost fan-out is recovered by the client's
        # resume (subscribe with after_seq), so a broken layer must not fail the request.
        logger.exception("Fan-out of %s to %s failed", event_type, group)


def broadcast_on_commit(group: str, event_type: str, payload: dict[str, Any]) -> None:
    """Send ``event_type`` to ``group`` once the current transaction commits."""
    transaction.on_commit(lambda: send_event_now(group, event_type, payload))
