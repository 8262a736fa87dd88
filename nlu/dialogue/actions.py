"""What the shop bot does for each intent — shared by both dialogue engines.

The embedded dialogue calls these functions directly; the rasa-sdk action server
(``nlu/actions/``) wraps the same functions in ``Action`` classes, so a Rasa story and the
embedded policy produce the same replies and side effects (handover, consent records).

Every action takes a :class:`DialogueContext` and returns the replies to post. They are
synchronous (Django ORM); async callers wrap them in one ``sync_to_async`` call.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from commerce import selectors as commerce_selectors
from commerce.models import ArtisanProfile, Offer, OfferStatus, Order, Product
from commerce.money import format_money
from commerce.serializers import offer_path, pay_path
from commerce.services.orders import payable_now
from conversations.models import Channel, Conversation
from conversations.services import HubError
from core.models import Consent, User
from core.services import record_consent
from nlu.dialogue.cards import (
    MAX_CARDS,
    artisan_card,
    intent_payload,
    order_card,
    product_card,
    reply,
)
from nlu.dialogue.handover import record_handover
from nlu.interface import BotReply
from nlu.models import BotConversationState

# Commerce references are "AT-" + 6 characters; the NLU regex may be narrower, so the
# actions also look for a reference in the raw text.
ORDER_REFERENCE = re.compile(r"\bAT-[A-Z0-9]{5,8}\b", re.IGNORECASE)
SEARCH_WORD_ENTITIES = ("product_type", "material", "colour")
SLOT_CARRIED_ENTITIES = frozenset({"order_ref", "artisan_name"})


@dataclass
class DialogueContext:
    """One buyer message as the actions see it."""

    conversation: Conversation
    buyer: User
    text: str = ""
    intent: str = ""
    entities: dict[str, list[str]] = field(default_factory=dict)

    def first(self, name: str) -> str | None:
        values = self.entities.get(name) or []
        return str(values[0]) if values else None

    def first_int(self, name: str) -> int | None:
        value = self.first(name)
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    @property
    def on_telegram(self) -> bool:
        return self.conversation.channel == Channel.TELEGRAM


Action = Callable[[DialogueContext], list[BotReply]]


# --- state ---------------------------------------------------------------------------------


def bot_state(conversation: Conversation) -> BotConversationState:
    state, _created = BotConversationState.objects.get_or_create(conversation=conversation)
    return state


def remember_focus(
    conversation: Conversation, *, artisan_id: int | None, product_id: int | None = None
) -> None:
    BotConversationState.objects.update_or_create(
        conversation=conversation,
        defaults={"focus_artisan_id": artisan_id, "focus_product_id": product_id},
    )


# --- lookups -------------------------------------------------------------------------------


def _decimal(value: str | None) -> Decimal | None:
    if not value:
        return None
    try:
        amount = Decimal(value.replace(",", "."))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def _listed_product(product_id: int | None) -> Product | None:
    if product_id is None:
        return None
    return commerce_selectors.listed_products().filter(pk=product_id).first()


def _public_shop_of(artisan_id: int | None) -> ArtisanProfile | None:
    if artisan_id is None:
        return None
    return (
        commerce_selectors.public_shops().select_related("user").filter(user_id=artisan_id).first()
    )


def _shop_by_name(name: str | None) -> ArtisanProfile | None:
    if not name:
        return None
    return (
        commerce_selectors.public_shops()
        .select_related("user")
        .filter(Q(shop_name__icontains=name) | Q(user__display_name__icontains=name))
        .order_by("shop_name")
        .first()
    )


def resolve_artisan_shop(ctx: DialogueContext) -> ArtisanProfile | None:
    """The artisan a message is about: named, from a button, from the product, or in focus."""
    product = _listed_product(ctx.first_int("product_id"))
    if product is not None:
        return product.shop
    shop = _public_shop_of(ctx.first_int("artisan_id")) or _shop_by_name(ctx.first("artisan_name"))
    if shop is not None:
        return shop
    if ctx.conversation.artisan_id:
        return _public_shop_of(ctx.conversation.artisan_id)
    state = BotConversationState.objects.filter(conversation=ctx.conversation).first()
    if state is not None and state.focus_artisan_id:
        return _public_shop_of(state.focus_artisan_id)
    return None


def buyer_order(*, buyer: User, reference: str) -> Order | None:
    """The buyer's own order with this reference; another person's order is never returned."""
    return (
        commerce_selectors.buyer_orders(buyer=buyer)
        .filter(reference__iexact=reference.strip())
        .first()
    )


def order_reference_in(ctx: DialogueContext) -> str | None:
    reference = ctx.first("order_ref")
    if reference and ORDER_REFERENCE.fullmatch(reference.strip()):
        return reference.strip().upper()
    match = ORDER_REFERENCE.search(ctx.text or "")
    return match.group(0).upper() if match else reference


# --- small talk ------------------------------------------------------------------------------


def main_menu_buttons() -> list[dict[str, str]]:
    return [
        {"title": _("Browse products"), "payload": intent_payload("search_products")},
        {"title": _("Track an order"), "payload": intent_payload("order_status")},
        {"title": _("Help"), "payload": intent_payload("help")},
    ]


def action_greet(ctx: DialogueContext) -> list[BotReply]:
    return [
        reply(
            _(
                "Hello! I'm the Atelier assistant. I can help you find handmade pieces, "
                "follow an order or reach an artisan."
            ),
            buttons=main_menu_buttons(),
        )
    ]


def action_goodbye(ctx: DialogueContext) -> list[BotReply]:
    return [reply(_("Thank you for visiting Atelier. See you soon!"))]


def action_help(ctx: DialogueContext) -> list[BotReply]:
    return [
        reply(
            _(
                'You can ask me to find products (e.g. "red wool scarves under 40 euros"), '
                "show an artisan's profile, request a custom piece, check an order "
                '(e.g. "where is AT-7K2Q9A?"), pay for an offer, subscribe to or leave our '
                "campaigns, or talk to an artisan."
            ),
            buttons=main_menu_buttons(),
        )
    ]


def action_out_of_scope(ctx: DialogueContext) -> list[BotReply]:
    return [
        reply(
            _("Sorry, I can only help with Atelier's handmade products, orders and artisans."),
            buttons=main_menu_buttons(),
        )
    ]


def action_fallback(ctx: DialogueContext) -> list[BotReply]:
    return [
        reply(
            _(
                'Sorry, I didn\'t quite understand. Could you rephrase? Type "help" to see what I can do.'
            ),
            buttons=main_menu_buttons(),
        )
    ]


# --- discovery -------------------------------------------------------------------------------


def _search_description(ctx: DialogueContext) -> str:
    words = [ctx.first(name) for name in SEARCH_WORD_ENTITIES]
    described = " ".join(word for word in words if word)
    if ctx.first("region"):
        described += " " + _("from %(region)s") % {"region": ctx.first("region")}
    if ctx.first("price_max"):
        described += " " + _("under %(amount)s") % {"amount": ctx.first("price_max")}
    if ctx.first("price_min"):
        described += " " + _("over %(amount)s") % {"amount": ctx.first("price_min")}
    return described.strip()


def action_search_products(ctx: DialogueContext) -> list[BotReply]:
    words = [ctx.first(name) for name in SEARCH_WORD_ENTITIES]
    products = commerce_selectors.search_products(
        text=" ".join(word for word in words if word),
        region=ctx.first("region") or "",
        min_price=_decimal(ctx.first("price_min")),
        max_price=_decimal(ctx.first("price_max")),
    )
    shop = _public_shop_of(ctx.first_int("artisan_id")) or _shop_by_name(ctx.first("artisan_name"))
    if shop is not None:
        products = products.filter(shop=shop)
    found = list(products.select_related("shop__user")[:MAX_CARDS])
    described = _search_description(ctx) or (shop.shop_name if shop else "")
    if not found:
        text = (
            _("I found no pieces matching “%(query)s” yet.") % {"query": described}
            if described
            else _("There are no pieces listed yet.")
        )
        return [
            reply(
                text + " " + _("An artisan can make one for you: describe what you would like."),
                buttons=[
                    {"title": _("Browse everything"), "payload": intent_payload("search_products")},
                    {
                        "title": _("Request a custom piece"),
                        "payload": intent_payload("custom_request"),
                    },
                ],
            )
        ]
    artisans = {product.shop.user_id for product in found}
    remember_focus(
        ctx.conversation,
        artisan_id=artisans.pop() if len(artisans) == 1 else None,
        product_id=found[0].pk if len(found) == 1 else None,
    )
    text = (
        _("Here is what I found for “%(query)s”:") % {"query": described}
        if described
        else _("Here are some of our newest pieces:")
    )
    return [reply(text, cards=[product_card(product) for product in found])]


def action_product_details(ctx: DialogueContext) -> list[BotReply]:
    product = _listed_product(ctx.first_int("product_id"))
    if product is None:
        return [reply(_("Sorry, this piece is no longer available."), buttons=main_menu_buttons())]
    remember_focus(ctx.conversation, artisan_id=product.shop.user_id, product_id=product.pk)
    details = [product.title, product.price_display]
    if product.description:
        details.append(product.description[:600])
    if product.made_to_order:
        details.append(
            _("Made to order, ready in about %(days)s days.") % {"days": product.lead_time_days}
        )
    elif not product.in_stock:
        details.append(_("Sold out — ask the artisan to make another one."))
    details.append(_("Made by %(shop)s") % {"shop": product.shop.shop_name})
    return [reply("\n".join(details), cards=[product_card(product)])]


def action_show_artisan(ctx: DialogueContext) -> list[BotReply]:
    shop = resolve_artisan_shop(ctx)
    if shop is None:
        name = ctx.first("artisan_name")
        text = (
            _("I don't know an artisan called “%(name)s”.") % {"name": name}
            if name
            else _("Which artisan would you like to see? Tell me their name or shop.")
        )
        return [
            reply(
                text,
                buttons=[
                    {"title": _("Browse products"), "payload": intent_payload("search_products")}
                ],
            )
        ]
    remember_focus(ctx.conversation, artisan_id=shop.user_id)
    lines = [shop.shop_name]
    if shop.tagline:
        lines.append(shop.tagline)
    if shop.region:
        lines.append(_("Based in %(region)s") % {"region": shop.region})
    return [reply("\n".join(lines), cards=[artisan_card(shop)])]


# --- handover --------------------------------------------------------------------------------


def hand_over(ctx: DialogueContext, *, shop: ArtisanProfile, reason: str) -> list[BotReply]:
    """Give the conversation to the artisan; the bot stays silent until handed back/idle."""
    conversation = ctx.conversation
    artisan = shop.user
    if conversation.artisan_id not in (None, artisan.pk):
        return [
            reply(
                _(
                    "This conversation is with another artisan. Open %(shop)s's page to "
                    "write to them."
                )
                % {"shop": shop.shop_name},
                buttons=[{"title": shop.shop_name, "url": artisan_card(shop)["url"]}]
                if artisan_card(shop)["url"]
                else [],
            )
        ]
    try:
        record_handover(conversation=conversation, artisan=artisan, reason=reason)
    except HubError as error:
        return [reply(error.message)]
    hours = getattr(getattr(artisan, "notification_settings", None), "usual_response_hours", None)
    text = _("I've passed your message to %(name)s of %(shop)s. They will answer you here.") % {
        "name": artisan.name,
        "shop": shop.shop_name,
    }
    if hours:
        text += " " + _("They usually reply within %(hours)s hours.") % {"hours": hours}
    if ctx.on_telegram:
        text += " " + _("Send /bot to go back to the shop assistant.")
    return [
        reply(
            text,
            handover={"artisan_id": artisan.pk, "reason": reason, "request": ctx.text[:500]},
        )
    ]


def _ask_which_artisan() -> list[BotReply]:
    return [
        reply(
            _(
                "Which artisan would you like to talk to? Open a piece or a shop first, "
                "then press “Ask the artisan”."
            ),
            buttons=[{"title": _("Browse products"), "payload": intent_payload("search_products")}],
        )
    ]


def action_custom_request(ctx: DialogueContext) -> list[BotReply]:
    shop = resolve_artisan_shop(ctx)
    if shop is None:
        return _ask_which_artisan()
    return hand_over(ctx, shop=shop, reason="custom_request")


def action_talk_to_artisan(ctx: DialogueContext) -> list[BotReply]:
    shop = resolve_artisan_shop(ctx)
    if shop is None:
        return _ask_which_artisan()
    product = _listed_product(ctx.first_int("product_id"))
    if product is not None:
        remember_focus(ctx.conversation, artisan_id=shop.user_id, product_id=product.pk)
    return hand_over(ctx, shop=shop, reason="talk_to_artisan")


# --- orders and checkout -------------------------------------------------------------------------


def action_order_status(ctx: DialogueContext) -> list[BotReply]:
    reference = order_reference_in(ctx)
    if reference:
        order = buyer_order(buyer=ctx.buyer, reference=reference)
        if order is None:
            # Same answer whether the order does not exist or belongs to someone else.
            return [
                reply(
                    _("I can't find an order %(reference)s on your account. Check the reference?")
                    % {"reference": reference}
                )
            ]
        text = _("Order %(reference)s (%(title)s): %(status)s.") % {
            "reference": order.reference,
            "title": order.title,
            "status": order.get_status_display(),
        }
        if order.amount_due > 0 and payable_now(order) is not None:
            text += " " + _("Still to pay: %(amount)s.") % {
                "amount": format_money(payable_now(order).amount, order.currency)
            }
        return [
            reply(
                text,
                cards=[order_card(order)],
                buttons=[{"title": _("Order details"), "url": order_card(order)["url"]}],
            )
        ]
    orders = list(commerce_selectors.buyer_orders(buyer=ctx.buyer)[:5])
    if not orders:
        return [
            reply(
                _("You have no orders yet."),
                buttons=[
                    {"title": _("Browse products"), "payload": intent_payload("search_products")}
                ],
            )
        ]
    return [
        reply(
            _("Which order? Here are your latest ones:"),
            buttons=[
                {
                    "title": f"{order.reference} — {order.get_status_display()}",
                    "payload": intent_payload("order_status", order_ref=order.reference),
                }
                for order in orders
            ],
        )
    ]


def _open_offer(ctx: DialogueContext) -> Offer | None:
    return (
        Offer.objects.filter(
            buyer=ctx.buyer, conversation=ctx.conversation, status=OfferStatus.SENT
        )
        .order_by("-created_at")
        .first()
    )


def action_checkout_link(ctx: DialogueContext) -> list[BotReply]:
    reference = order_reference_in(ctx)
    orders = commerce_selectors.buyer_orders(buyer=ctx.buyer)
    order = buyer_order(buyer=ctx.buyer, reference=reference) if reference else None
    if reference and order is None:
        return [
            reply(
                _("I can't find an order %(reference)s on your account.") % {"reference": reference}
            )
        ]
    candidates = [order] if order else [o for o in orders[:10] if payable_now(o) is not None]
    payable_order = next((o for o in candidates if payable_now(o) is not None), None)
    if payable_order is not None:
        payable = payable_now(payable_order)
        return [
            reply(
                _("Order %(reference)s: %(amount)s to pay.")
                % {
                    "reference": payable_order.reference,
                    "amount": format_money(payable.amount, payable_order.currency),
                },
                buttons=[{"title": _("Pay now"), "url": pay_path(payable_order.reference)}],
                cards=[order_card(payable_order)],
            )
        ]
    offer = _open_offer(ctx)
    if offer is not None and not offer.is_expired:
        return [
            reply(
                _("Your offer of %(total)s is waiting: accept it to pay.")
                % {"total": offer.total_display},
                buttons=[{"title": _("Review the offer"), "url": offer_path(offer.pk)}],
            )
        ]
    state = BotConversationState.objects.filter(conversation=ctx.conversation).first()
    product = _listed_product(
        ctx.first_int("product_id") or (state.focus_product_id if state else None)
    )
    if product is not None:
        card = product_card(product)
        buttons = (
            [{"title": _("Buy %(title)s") % {"title": product.title}, "url": card["url"]}]
            if card["url"]
            else []
        )
        return [
            reply(
                _("Choose your options and pay on the piece's page."), buttons=buttons, cards=[card]
            )
        ]
    return [reply(_("There is nothing to pay right now."), buttons=main_menu_buttons())]


# --- campaigns ---------------------------------------------------------------------------------


def campaign_purpose(ctx: DialogueContext) -> str:
    if ctx.on_telegram:
        return Consent.Purpose.MARKETING_TELEGRAM
    return Consent.Purpose.MARKETING_EMAIL


def action_subscribe_campaigns(ctx: DialogueContext) -> list[BotReply]:
    record_consent(
        user=ctx.buyer, purpose=campaign_purpose(ctx), granted=True, source=ctx.conversation.channel
    )
    return [
        reply(
            _(
                "You're subscribed: we'll send you news about new pieces and campaigns. "
                "Say “unsubscribe” at any time to stop."
            )
        )
    ]


def action_unsubscribe_campaigns(ctx: DialogueContext) -> list[BotReply]:
    record_consent(
        user=ctx.buyer,
        purpose=campaign_purpose(ctx),
        granted=False,
        source=ctx.conversation.channel,
    )
    return [
        reply(_("You're unsubscribed: no more campaign messages. Order updates still reach you."))
    ]


ACTIONS: dict[str, Action] = {
    "utter_greet": action_greet,
    "utter_goodbye": action_goodbye,
    "utter_help": action_help,
    "utter_out_of_scope": action_out_of_scope,
    "utter_default": action_fallback,
    "action_search_products": action_search_products,
    "action_product_details": action_product_details,
    "action_show_artisan": action_show_artisan,
    "action_custom_request": action_custom_request,
    "action_talk_to_artisan": action_talk_to_artisan,
    "action_order_status": action_order_status,
    "action_checkout_link": action_checkout_link,
    "action_subscribe_campaigns": action_subscribe_campaigns,
    "action_unsubscribe_campaigns": action_unsubscribe_campaigns,
}

# The embedded policy: one action per intent, as rules.yml says for Rasa.
INTENT_ACTIONS: dict[str, str] = {
    "greet": "utter_greet",
    "goodbye": "utter_goodbye",
    "help": "utter_help",
    "out_of_scope": "utter_out_of_scope",
    "search_products": "action_search_products",
    "product_details": "action_product_details",
    "show_artisan": "action_show_artisan",
    "custom_request": "action_custom_request",
    "talk_to_artisan": "action_talk_to_artisan",
    "order_status": "action_order_status",
    "checkout": "action_checkout_link",
    "subscribe_campaigns": "action_subscribe_campaigns",
    "unsubscribe_campaigns": "action_unsubscribe_campaigns",
}

# Button-only intents that never reach Rasa (not in its domain): UI actions on our cards.
LOCAL_INTENTS = frozenset({"product_details"})


def run_action(name: str, ctx: DialogueContext) -> list[BotReply]:
    action = ACTIONS.get(name, action_fallback)
    return action(ctx)


def entities_from_rasa(
    slots: dict[str, Any], latest_entities: list[dict[str, Any]]
) -> dict[str, list[str]]:
    """Entities for an action called by Rasa: this message's entities first.

    Search criteria come only from the current message (slots carry over between
    searches and would narrow a new search with an old colour); an order reference or an
    artisan's name said earlier still counts.
    """
    entities: dict[str, list[str]] = {}
    for entity in latest_entities or []:
        name, value = entity.get("entity"), entity.get("value")
        if name and value is not None:
            entities.setdefault(str(name), []).append(str(value))
    for name, value in (slots or {}).items():
        if name not in SLOT_CARRIED_ENTITIES:
            continue
        if value not in (None, "", []) and name not in entities:
            entities[name] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return entities


__all__ = [
    "ACTIONS",
    "INTENT_ACTIONS",
    "LOCAL_INTENTS",
    "DialogueContext",
    "entities_from_rasa",
    "run_action",
]
