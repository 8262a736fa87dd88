"""Commerce cards in conversations: one card per offer and per order, kept up to date.

A card message stores facts only (docs/commerce.md "Card payloads"): ids, a status code,
amounts as Decimal strings with an ISO currency, ISO UTC times. ``Message.text`` stays empty;
every reader's client renders the card in their own language. When the offer or order
changes, the same message's payload is replaced (``update_card`` → ``message.updated``),
and the moment itself becomes a short system line (``post_milestone``), so a thread never
fills up with stale copies of the same card.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from commerce.models import Offer, Order, Proof, Shipment
from commerce.serializers import serialize_offer, serialize_order
from conversations.events import broadcast_on_commit, conversation_group
from conversations.models import Conversation, Message, MessageKind
from conversations.services import post_message, update_card
from core.models import User

OFFER_CARD = "offer"
ORDER_CARD = "order"


def _actor(actor: User | None) -> dict[str, Any] | None:
    if actor is None:
        return None
    return {"id": actor.pk, "name": actor.name, "role": actor.role}


def post_card(
    *,
    conversation: Conversation | None,
    kind: str,
    payload: dict[str, Any],
    actor: User | None = None,
) -> Message | None:
    """Post a system-authored card; the acting person goes into the payload, not ``author``."""
    if conversation is None:
        return None
    if actor is not None:
        payload = {**payload, "actor": _actor(actor)}
    return post_message(
        conversation=conversation, author=None, kind=kind, text="", payload=payload
    ).message


def post_milestone(
    *,
    conversation: Conversation | None,
    event: str,
    actor: User | None = None,
    **facts: Any,
) -> Message | None:
    """A short system line for a moment in an offer's or order's life (``{"event": …}``)."""
    return post_card(
        conversation=conversation,
        kind=MessageKind.SYSTEM,
        payload={"event": event, **facts},
        actor=actor,
    )


# --- Offer cards -------------------------------------------------------------------------------


def offer_card_payload(offer: Offer) -> dict[str, Any]:
    return {"card": OFFER_CARD, **serialize_offer(offer)}


def offer_card_message(offer: Offer) -> Message | None:
    return (
        Message.objects.filter(
            conversation_id=offer.conversation_id,
            kind=MessageKind.OFFER,
            payload__offer_id=offer.pk,
        )
        .order_by("seq")
        .first()
    )


def publish_offer_card(*, offer: Offer, actor: User | None = None) -> Message | None:
    """Post the offer's card, or bring its existing card up to date; broadcast ``offer.updated``."""
    payload = offer_card_payload(offer)
    message = offer_card_message(offer)
    if message is None:
        message = post_card(
            conversation=offer.conversation, kind=MessageKind.OFFER, payload=payload, actor=actor
        )
    else:
        payload["actor"] = message.payload.get("actor")
        payload["updated_at"] = timezone.now().isoformat()
        message = update_card(message=message, payload=payload)
    broadcast_offer(serialize_offer(offer), conversation_id=offer.conversation_id)
    return message


# --- Order cards -------------------------------------------------------------------------------


def _latest_shipment(order: Order) -> dict[str, Any] | None:
    shipment: Shipment | None = order.shipments.order_by("-created_at", "-pk").first()
    if shipment is None:
        return None
    return {
        "status": shipment.status,
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "tracking_url": shipment.tracking_url,
    }


def _latest_proof(order: Order) -> dict[str, Any] | None:
    proof: Proof | None = order.proofs.order_by("-created_at", "-pk").first()
    if proof is None:
        return None
    return {
        "proof_id": proof.pk,
        "status": proof.status,
        "rounds_included": order.revision_rounds_included,
        "rounds_used": order.revision_rounds_used,
    }


def order_card_payload(order: Order) -> dict[str, Any]:
    from commerce.services.orders import payable_now

    payable = payable_now(order)
    return {
        "card": ORDER_CARD,
        "order": order.reference,
        **serialize_order(order),
        "payable": (
            {"purpose": payable.purpose, "amount": str(payable.amount)} if payable else None
        ),
        "proof": _latest_proof(order),
        "shipment": _latest_shipment(order),
    }


def order_card_message(order: Order, *, card: str = ORDER_CARD) -> Message | None:
    """The order's card of kind ``card`` (the order card, or its CSAT question) in its
    conversation; None when it was never posted."""
    if order.conversation_id is None:
        return None
    return (
        Message.objects.filter(
            conversation_id=order.conversation_id,
            kind=MessageKind.ORDER_UPDATE,
            payload__card=card,
            payload__order=order.reference,
        )
        .order_by("seq")
        .first()
    )


def publish_order_card(*, order: Order, actor: User | None = None) -> Message | None:
    """Post the order's card, or bring its existing card up to date; broadcast ``order.status``."""
    if order.conversation_id is None:
        return None
    payload = order_card_payload(order)
    message = order_card_message(order)
    if message is None:
        message = post_card(
            conversation=order.conversation,
            kind=MessageKind.ORDER_UPDATE,
            payload=payload,
            actor=actor,
        )
    else:
        payload["actor"] = message.payload.get("actor")
        payload["updated_at"] = timezone.now().isoformat()
        message = update_card(message=message, payload=payload)
    broadcast_order(serialize_order(order), conversation_id=order.conversation_id)
    return message


# --- Events --------------------------------------------------------------------------------------


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
