"""Context cards: what a buyer asked about, requested or bought, posted into the pair's thread.

A context card is a system message whose payload is data only — ``{"type": "context",
"context": "ask" | "request" | "buy" | "campaign", "product_id", "options": [{"option_id",
"value_id", "text"}], "price", "currency", "request_id", "order_id", "campaign_id"}`` — never a sentence. The chat
client, the artisan's Details panel (``commerce.selectors.conversation_context``) and the
bot render it for each reader. The thread itself is the pair's one conversation
(``conversations.services.conversation_between``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from commerce.errors import CommerceError
from commerce.models import OptionKind, Product
from commerce.services.catalog import price_selection
from conversations.models import Channel, Conversation, Message, MessageKind
from conversations.services import conversation_between, post_message
from core.models import User

CONTEXT_CARD = "context"


class ContextKind:
    ASK = "ask"
    REQUEST = "request"
    BUY = "buy"
    CAMPAIGN = "campaign"  # a reply to a shop's campaign (the news it answers is the context)
    ALL = (ASK, REQUEST, BUY, CAMPAIGN)


def chosen_options(*, product: Product, selections: dict[str, str]) -> list[dict[str, Any]]:
    """The buyer's choices as ids (choice options) or their own text (free-text options).

    Unknown ids and empty answers are dropped: a question may come before every required
    option is picked.
    """
    chosen: list[dict[str, Any]] = []
    for option in product.options.prefetch_related("values"):
        raw = str(selections.get(str(option.pk)) or "").strip()
        if not raw:
            continue
        if option.kind == OptionKind.CHOICE:
            if any(str(value.pk) == raw for value in option.values.all()):
                chosen.append({"option_id": option.pk, "value_id": int(raw), "text": None})
        else:
            limit = option.max_length or 200
            chosen.append({"option_id": option.pk, "value_id": None, "text": raw[:limit]})
    return chosen


def _unit_price(*, product: Product, selections: dict[str, str]) -> Decimal:
    """The price with the chosen surcharges; the base price while options are incomplete."""
    try:
        return price_selection(product=product, selections=selections).unit_price
    except CommerceError:  # an incomplete selection still has a base price
        return product.price


def post_context_card(
    *,
    conversation: Conversation,
    kind: str,
    actor: User,
    product: Product | None = None,
    selections: dict[str, str] | None = None,
    unit_price: Decimal | None = None,
    currency: str = "",
    request_id: int | None = None,
    order_id: int | None = None,
    campaign_id: int | None = None,
    skip_if_same_as_latest: bool = False,
) -> Message | None:
    """Post the card. An ask alone does not list the thread in the artisan's inbox (the
    buyer has not written yet); a request or an order does."""
    if kind not in ContextKind.ALL:
        raise ValueError(f"unknown context kind {kind!r}")
    selections = selections or {}
    options = chosen_options(product=product, selections=selections) if product else []
    if product is not None and unit_price is None:
        unit_price = _unit_price(product=product, selections=selections)
        currency = product.currency
    payload: dict[str, Any] = {
        "type": CONTEXT_CARD,
        "context": kind,
        "product_id": product.pk if product else None,
        "options": options,
        "price": str(unit_price) if unit_price is not None else None,
        "currency": currency or None,
        "request_id": request_id,
        "order_id": order_id,
        "campaign_id": campaign_id,
        "actor": {"id": actor.pk, "role": actor.role},
    }
    if skip_if_same_as_latest:
        latest = latest_context_card(conversation=conversation)
        if latest is not None and _same_context(latest.payload, payload):
            return None  # asking twice about the same piece and options says nothing new
    return post_message(
        conversation=conversation,
        author=None,
        kind=MessageKind.SYSTEM,
        text="",
        payload=payload,
        language="",
        # Asking or answering news lists the thread once the buyer writes, not before.
        surfaces=kind not in (ContextKind.ASK, ContextKind.CAMPAIGN),
    ).message


def latest_context_card(*, conversation: Conversation) -> Message | None:
    return (
        Message.objects.filter(
            conversation=conversation, kind=MessageKind.SYSTEM, payload__type=CONTEXT_CARD
        )
        .order_by("-seq")
        .first()
    )


def _same_context(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("context", "product_id", "options", "request_id", "order_id", "campaign_id")
    return all(a.get(key) == b.get(key) for key in keys)


@transaction.atomic
def ask_about_product(
    *,
    buyer: User,
    product: Product,
    selections: dict[str, str] | None = None,
    channel: str = Channel.WEB,
) -> Conversation:
    """Ask the artisan: the pair's thread, with a card saying which piece and options."""
    conversation = conversation_between(
        buyer=buyer, artisan=product.shop.user, subject=product.title, channel=channel
    )
    post_context_card(
        conversation=conversation,
        kind=ContextKind.ASK,
        actor=buyer,
        product=product,
        selections=selections or {},
        skip_if_same_as_latest=True,
    )
    return conversation
