"""Putting commerce cards into conversations (always through ``post_message``)."""

from __future__ import annotations

from typing import Any

from conversations.events import broadcast_on_commit, conversation_group
from conversations.models import Conversation, Message, MessageKind
from conversations.services import post_message
from core.models import User


def post_card(
    *,
    conversation: Conversation | None,
    kind: str,
    text: str,
    payload: dict[str, Any],
    actor: User | None = None,
) -> Message | None:
    """Post a system-authored card; the acting person goes into the payload, not ``author``."""
    if conversation is None:
        return None
    if actor is not None:
        payload = {**payload, "actor": {"id": actor.pk, "name": actor.name, "role": actor.role}}
    return post_message(
        conversation=conversation, author=None, kind=kind, text=text, payload=payload
    ).message


def post_offer_card(*, conversation: Conversation, text: str, payload: dict[str, Any], actor: User):
    return post_card(
        conversation=conversation, kind=MessageKind.OFFER, text=text, payload=payload, actor=actor
    )


def post_order_update(
    *, conversation: Conversation | None, text: str, payload: dict[str, Any], actor: User | None
):
    return post_card(
        conversation=conversation,
        kind=MessageKind.ORDER_UPDATE,
        text=text,
        payload=payload,
        actor=actor,
    )


def post_system_note(
    *, conversation: Conversation | None, text: str, payload: dict[str, Any], actor: User | None
):
    return post_card(
        conversation=conversation, kind=MessageKind.SYSTEM, text=text, payload=payload, actor=actor
    )


def broadcast_offer(offer_data: dict[str, Any], *, conversation_id: int) -> None:
    broadcast_on_commit(
        conversation_group(conversation_id),
        "offer.updated",
        {"conversation": conversation_id, "offer": offer_data},
    )


def broadcast_order(order_data: dict[str, Any], *, conversation_id: int | None) -> None:
    if conversation_id is None:
        return
    broadcast_on_commit(
        conversation_group(conversation_id),
        "order.status",
        {"conversation": conversation_id, "order": order_data},
    )
