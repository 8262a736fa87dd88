"""Reads for a conversation's commerce context: the latest context card, resolved for display.

The card stores ids and amounts (``commerce.services.context``); this turns them into what
the artisan's Details panel shows — the piece's thumbnail, title, chosen options and price —
at display time, so renamed options or a changed photo show as they are now, and the
reader's locale formats the price. Also the entry points from a thread to the studio: the
offer composer and the orders made in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from commerce.models import (
    Campaign,
    ChoiceValue,
    CustomizationOption,
    CustomRequest,
    Order,
    Product,
)
from commerce.services.context import latest_context_card
from conversations.models import Conversation, Message, MessageKind
from core.l10n import format_money
from core.models import User


@dataclass(frozen=True)
class ChosenOption:
    label: str
    value: str


@dataclass(frozen=True)
class ThreadContext:
    kind: str  # "ask" | "request" | "buy" | "campaign"
    at: datetime
    product: Product | None = None
    product_url: str = ""
    thumbnail_url: str = ""
    options: list[ChosenOption] = field(default_factory=list)
    price: Decimal | None = None
    currency: str = ""
    request: CustomRequest | None = None
    order: Order | None = None
    campaign: Campaign | None = None


def _decimal(raw: Any) -> Decimal | None:
    try:
        return Decimal(str(raw)) if raw not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None


def _options(payload: dict[str, Any], product: Product | None) -> list[ChosenOption]:
    chosen = [c for c in payload.get("options") or [] if isinstance(c, dict)]
    if not chosen or product is None:
        return []
    labels = dict(CustomizationOption.objects.filter(product=product).values_list("pk", "label"))
    values = dict(
        ChoiceValue.objects.filter(
            option__product=product, pk__in=[c.get("value_id") for c in chosen if c.get("value_id")]
        ).values_list("pk", "label")
    )
    result = []
    for choice in chosen:
        label = labels.get(choice.get("option_id"))
        if label is None:
            continue  # the artisan removed the option since
        if choice.get("value_id"):
            value = values.get(choice["value_id"])
            if value is None:
                continue
        else:
            value = str(choice.get("text") or "")
        result.append(ChosenOption(label=label, value=value))
    return result


def resolve_context_card(card: Message) -> ThreadContext:
    """A context card's ids turned into what a reader sees (current titles and photos)."""
    payload = card.payload or {}
    conversation_id = card.conversation_id
    product = (
        Product.objects.select_related("shop").filter(pk=payload.get("product_id")).first()
        if payload.get("product_id")
        else None
    )
    photo = product.photos.first() if product else None
    request = (
        CustomRequest.objects.filter(pk=payload.get("request_id"), conversation_id=conversation_id)
        .select_related("product")
        .first()
        if payload.get("request_id")
        else None
    )
    order = (
        Order.objects.filter(pk=payload.get("order_id"), conversation_id=conversation_id).first()
        if payload.get("order_id")
        else None
    )
    campaign = (
        Campaign.objects.filter(
            pk=payload.get("campaign_id"), shop__user_id=card.conversation.artisan_id
        ).first()
        if payload.get("campaign_id")
        else None
    )
    return ThreadContext(
        campaign=campaign,
        kind=str(payload.get("context") or ""),
        at=card.created_at,
        product=product,
        product_url=(
            reverse("commerce:product", args=[product.shop.slug, product.slug]) if product else ""
        ),
        thumbnail_url=photo.image.url if photo else "",
        options=_options(payload, product),
        price=_decimal(payload.get("price")),
        currency=str(payload.get("currency") or ""),
        request=request,
        order=order,
    )


def thread_context(*, conversation: Conversation) -> ThreadContext | None:
    """The latest context card of the thread, resolved; None when there is none."""
    card = latest_context_card(conversation=conversation)
    return resolve_context_card(card) if card is not None else None


def context_kind_label(kind: str) -> str:
    return {
        "ask": _("Asked about"),
        "request": _("Custom request"),
        "buy": _("Ordered"),
        "campaign": _("Replied to the shop's news"),
    }.get(kind, _("About"))


def context_cards_for_client(
    messages: list[dict[str, Any]], *, offer_url: str = ""
) -> dict[str, dict[str, Any]]:
    """Context cards among ``messages`` (wire shape), resolved and formatted for the reader.

    The chat client draws a context card from this map (keyed by message id); cards that
    arrive live fall back to the kind label until the next page load.
    """
    ids = [
        m["id"]
        for m in messages
        if m.get("kind") == MessageKind.SYSTEM and (m.get("payload") or {}).get("type") == "context"
    ]
    from commerce.translation import localized

    language = get_language() or ""
    result: dict[str, dict[str, Any]] = {}
    for card in Message.objects.filter(pk__in=ids):
        ctx = resolve_context_card(card)
        label = context_kind_label(ctx.kind)
        if ctx.campaign is not None:  # the campaign's name and the piece in the reader's words
            label = f"{label}: {localized(ctx.campaign, 'title', language).text}"
        result[str(card.pk)] = {
            "label": label,
            "title": localized(ctx.product, "title", language).text if ctx.product else "",
            "url": ctx.product_url,
            "thumb": ctx.thumbnail_url,
            "options": [f"{o.label}: {o.value}" for o in ctx.options],
            "price": format_money(ctx.price, ctx.currency) if ctx.price is not None else "",
            "request": ctx.request.description[:160] if ctx.request else "",
            "offerUrl": f"{offer_url}?request={ctx.request.pk}"
            if ctx.request and offer_url
            else "",
            "offerLabel": _("Make an offer for this request") if offer_url else "",
        }
    return result


@dataclass(frozen=True)
class ThreadOrder:
    order: Order
    url: str


@dataclass(frozen=True)
class ThreadActions:
    """Links from a thread into the studio (artisan) or the order pages (buyer)."""

    offer_url: str = ""
    orders: list[ThreadOrder] = field(default_factory=list)


def thread_actions(*, conversation: Conversation, viewer: User) -> ThreadActions:
    is_artisan = viewer.pk == conversation.artisan_id and viewer.is_artisan
    is_buyer = viewer.pk == conversation.buyer_id
    if not (is_artisan or is_buyer):
        return ThreadActions()
    orders = Order.objects.filter(conversation=conversation).order_by("-created_at", "-pk")[:5]
    name = "commerce:studio_order" if is_artisan else "commerce:order_detail"
    return ThreadActions(
        offer_url=(
            reverse("commerce:offer_composer", args=[conversation.pk])
            if is_artisan and conversation.status != "closed"
            else ""
        ),
        orders=[ThreadOrder(order=o, url=reverse(name, args=[o.reference])) for o in orders],
    )
