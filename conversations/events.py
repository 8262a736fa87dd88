"""The one way real-time events leave the server: ``broadcast_on_commit``.

Events are sent only after the transaction that produced them commits, so a client never
sees a message the database could still roll back. Each event goes to a group as
``{"type": "hub.event", "event": {"type": <event_type>, ...payload}}``; consumers forward
``event`` to the socket unchanged. Payloads are documented in docs/protocol.md and each
event type has a schema in ``conversations/protocol.py`` (checked by the protocol tests).

Two ways in, one envelope: ``broadcast_on_commit`` for services inside a transaction
(messages, reads, cards), ``send_event`` for the consumer's ephemeral signals (typing,
presence) that have no transaction to wait for.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from conversations.protocol import HUB_EVENT_TYPES

logger = logging.getLogger(__name__)

EVENT_TYPES = HUB_EVENT_TYPES


def conversation_group(conversation_id: int) -> str:
    return f"conv.{conversation_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def hub_event(
    event_type: str, payload: dict[str, Any], *, unless_subscribed: int | None = None
) -> dict[str, Any]:
    """The channel-layer message for one event (consumers forward ``event`` as is).

    ``unless_subscribed``: a socket subscribed to that conversation drops the event, because
    it already receives the same news through the conversation's group (a new message's
    ``conversation.updated`` to the inbox lists, for the socket that shows the thread).
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {event_type!r}: add it to conversations/protocol.py")
    message: dict[str, Any] = {"type": "hub.event", "event": {"type": event_type, **payload}}
    if unless_subscribed is not None:
        message["unless_subscribed"] = unless_subscribed
    return message


# Set by the socket around one unit of hub work on a pool thread: events committed there are
# collected and sent from the event loop afterwards (``send_collected``), instead of each
# hopping back to the loop with async_to_sync while the thread waits.
collected_events: ContextVar[list[tuple[str, dict[str, Any]]] | None] = ContextVar(
    "collected_hub_events", default=None
)


def send_event_now(
    group: str, event_type: str, payload: dict[str, Any], *, unless_subscribed: int | None = None
) -> None:
    message = hub_event(event_type, payload, unless_subscribed=unless_subscribed)
    collecting = collected_events.get()
    if collecting is not None:
        collecting.append((group, message))
        return
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        # The database is the source of truth: a lost fan-out is recovered by the client's
        # resume (subscribe with after_seq), so a broken layer must not fail the request.
        logger.exception("Fan-out of %s to %s failed", event_type, group)


def broadcast_on_commit(
    group: str, event_type: str, payload: dict[str, Any], *, unless_subscribed: int | None = None
) -> None:
    """Send ``event_type`` to ``group`` once the current transaction commits."""
    transaction.on_commit(
        lambda: send_event_now(group, event_type, payload, unless_subscribed=unless_subscribed)
    )


async def send_collected(events: list[tuple[str, dict[str, Any]]]) -> None:
    """Send events gathered by ``collected_events`` (already committed), all at once."""
    layer = get_channel_layer()
    if layer is None or not events:
        return
    results = await asyncio.gather(
        *(layer.group_send(group, message) for group, message in events), return_exceptions=True
    )
    for (group, message), result in zip(events, results, strict=True):
        if isinstance(result, BaseException):
            # As in send_event_now: the client's resume recovers a lost fan-out.
            logger.error(
                "Fan-out of %s to %s failed", message["event"]["type"], group, exc_info=result
            )


async def send_event(group: str, event_type: str, payload: dict[str, Any]) -> None:
    """Send an ephemeral event now, from async code (typing, presence: nothing to commit)."""
    message = hub_event(event_type, payload)
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(group, message)
    except Exception:
        # Typing and presence are hints; the next ping/subscribe refreshes them.
        logger.exception("Fan-out of %s to %s failed", event_type, group)
