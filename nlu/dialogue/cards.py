"""Bot reply shapes: commerce objects as cards, and replies as hub message payloads.

A bot message in the hub is ``kind=bot`` with ``text`` and a payload::

    {"buttons": [{"title": "Track an order", "payload": "/order_status"},
                 {"title": "Open the shop", "url": "/shop/…/"}],
     "cards": [{"type": "product", "product_id": 7, "title": …, "price_display": "€35.00",
                "image_url": …, "url": …, "artisan": {"id": 3, "name": …, "shop": …},
                "buttons": [...]}]}

Web clients render ``buttons`` (payload buttons send their payload back as the buyer's
text) and ``cards``; the Telegram bridge turns cards into photos with inline keyboards.
Payload buttons use Rasa's ``/intent{"entity": value}`` syntax so both dialogue engines
understand a click the same way.
"""

from __future__ import annotations

import json
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from commerce.models import ArtisanProfile, Order, Product
from commerce.serializers import order_path, pay_path
from nlu.interface import BotReply, Button

MAX_CARDS = 5


def intent_payload(intent: str, **entities: Any) -> str:
    """``/intent{"key": value}`` — the button payload both engines read as an intent."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, separators=(',', ':'), sort_keys=True)}"


def _reverse_path(name: str, *args: Any) -> str:
    # Site-relative: the widget and the inbox stay on whatever host serves them; the
    # Telegram bridge makes links absolute (SITE_URL) when they leave the site.
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # commerce pages not mounted (e.g. a trimmed URLconf)
        return ""


def product_url(product: Product) -> str:
    return _reverse_path("commerce:product", product.shop.slug, product.slug)


def shop_url(shop: ArtisanProfile) -> str:
    return _reverse_path("commerce:shop_profile", shop.slug)


def _photo_url(photo: Any) -> str:
    image = getattr(photo, "image", None)
    if not image:
        return ""
    try:
        return image.url
    except ValueError:
        return ""


def product_image_url(product: Product) -> str:
    photos = list(product.photos.all()[:1])
    return _photo_url(photos[0]) if photos else ""


def product_card(product: Product) -> dict[str, Any]:
    shop = product.shop
    url = product_url(product)
    buttons: list[dict[str, str]] = [
        {
            "title": _("Details"),
            "payload": intent_payload("product_details", product_id=product.pk),
        },
        {
            "title": _("Ask the artisan"),
            "payload": intent_payload("talk_to_artisan", product_id=product.pk),
        },
    ]
    if url:
        buttons.append({"title": _("Buy"), "url": url})
    return {
        "type": "product",
        "product_id": product.pk,
        "title": product.title,
        "price": str(product.price),
        "currency": product.currency,
        "price_display": product.price_display,
        "image_url": product_image_url(product),
        "url": url,
        "made_to_order": product.made_to_order,
        "in_stock": product.in_stock,
        "artisan": {"id": shop.user_id, "name": shop.user.name, "shop": shop.shop_name},
        "buttons": buttons,
    }


def product_caption(card: dict[str, Any]) -> str:
    """One text for a product card where only text fits (Telegram captions, fallbacks)."""
    artisan = card.get("artisan") or {}
    lines = [f"{card.get('title', '')} — {card.get('price_display', '')}"]
    if artisan.get("shop"):
        lines.append(_("by %(shop)s") % {"shop": artisan["shop"]})
    if card.get("made_to_order"):
        lines.append(_("Made to order"))
    elif card.get("in_stock") is False:
        lines.append(_("Sold out"))
    return "\n".join(lines)


def artisan_card(shop: ArtisanProfile) -> dict[str, Any]:
    photos = list(shop.photos.all()[:1])
    return {
        "type": "artisan",
        "artisan_id": shop.user_id,
        "shop": shop.shop_name,
        "name": shop.user.name,
        "tagline": shop.tagline,
        "region": shop.region,
        "country": shop.country,
        "materials": shop.materials_list,
        "image_url": _photo_url(photos[0]) if photos else "",
        "url": shop_url(shop),
        "buttons": [
            {
                "title": _("See their pieces"),
                "payload": intent_payload("search_products", artisan_id=shop.user_id),
            },
            {
                "title": _("Talk to %(name)s") % {"name": shop.user.name},
                "payload": intent_payload("talk_to_artisan", artisan_id=shop.user_id),
            },
        ],
    }


def order_card(order: Order) -> dict[str, Any]:
    return {
        "type": "order",
        "reference": order.reference,
        "title": order.title,
        "status": order.status,
        "status_label": str(order.get_status_display()),
        "total_display": order.total_display,
        "amount_due": str(order.amount_due),
        "url": order_path(order.reference),
        "pay_url": pay_path(order.reference),
    }


def reply_to_payload(reply: BotReply) -> dict[str, Any]:
    """The hub message payload of a bot reply (buttons + cards)."""
    custom = reply.custom or {}
    buttons: list[dict[str, str]] = [
        {"title": button.title, "payload": button.payload} for button in reply.buttons
    ]
    buttons += [dict(button) for button in custom.get("buttons", []) if isinstance(button, dict)]
    payload: dict[str, Any] = {}
    if buttons:
        payload["buttons"] = buttons
    cards = [card for card in custom.get("cards", []) if isinstance(card, dict)]
    if cards:
        payload["cards"] = cards
    if reply.image:
        payload["image_url"] = reply.image
    if custom.get("handover"):
        payload["handover"] = custom["handover"]
    return payload


def reply(
    text: str | None = None,
    *,
    buttons: list[dict[str, str]] | None = None,
    cards: list[dict[str, Any]] | None = None,
    handover: dict[str, Any] | None = None,
) -> BotReply:
    """Build a ``BotReply``: payload buttons go to ``buttons``, URL buttons and cards to
    ``custom`` (Rasa's REST channel carries ``custom`` through unchanged)."""
    buttons = buttons or []
    custom: dict[str, Any] = {}
    url_buttons = [b for b in buttons if b.get("url")]
    if url_buttons:
        custom["buttons"] = url_buttons
    if cards:
        custom["cards"] = cards
    if handover:
        custom["handover"] = handover
    return BotReply(
        text=text,
        buttons=tuple(
            Button(title=b["title"], payload=b["payload"]) for b in buttons if "payload" in b
        ),
        custom=custom or None,
    )
