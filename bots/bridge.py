"""Hub → Telegram: which messages reach a buyer's Telegram chat, and how they look there.

A message is pushed live to the buyer's Telegram chat when the buyer has a Telegram
account, someone else wrote it (artisan, bot, system, commerce card), and either

- the conversation started in Telegram, is the buyer's active chat there, or the buyer
  is a Telegram guest (Telegram is their only way in), or
- it is an offer or order card (order-status pushes reach the buyer wherever the
  conversation started).

Other messages (e.g. a linked buyer's web conversations) are covered by the offline
notifier instead: one Telegram note per burst, with a link.
"""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass
from typing import Any

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import EditMessageText
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from bots.models import TelegramAccount, TelegramDelivery
from bots.telegram.invoices import BotRequest
from bots.telegram.keyboards import (
    PayInTelegram,
    ProductCardLabels,
    SwitchConversation,
    bot_button_or_none,
    checkout_link_keyboard,
    product_card_keyboard,
)
from bots.telegram.outbox import (
    DeliveryReport,
    DeliveryStatus,
    OutboundPhoto,
    OutboundText,
)
from commerce.card_render import render_card, render_system_line
from commerce.serializers import order_path
from conversations.models import (
    Channel,
    Message,
    MessageKind,
    MessageTranslation,
    Participant,
    TranslationStatus,
)
from core.media import with_media_token
from core.models import User
from nlu.dialogue.cards import product_caption

logger = logging.getLogger(__name__)

ALWAYS_PUSHED = frozenset({MessageKind.OFFER, MessageKind.ORDER_UPDATE})
MAX_TEXT = 4000
MAX_CAPTION = 1000
MAX_KEYBOARD_BUTTONS = 8


def recipient_account(message: Message) -> TelegramAccount | None:
    """The Telegram account this message is pushed to live, or None."""
    conversation = message.conversation
    if message.is_hidden or message.author_id == conversation.buyer_id:
        return None
    account = (
        TelegramAccount.objects.select_related("user").filter(user_id=conversation.buyer_id).first()
    )
    if account is None or not account.user.is_active:
        return None
    live = (
        conversation.channel == Channel.TELEGRAM
        or account.active_conversation_id == conversation.pk
        or account.user.is_guest
        or message.kind in ALWAYS_PUSHED
        # Order and offer milestones (paid, shipped…) reach the buyer like the cards do.
        or (message.kind == MessageKind.SYSTEM and bool((message.payload or {}).get("event")))
    )
    return account if live else None


# --- rendering -------------------------------------------------------------------------------------


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shown(message: Message, language: str) -> tuple[str, str]:
    """(text, its language): the translation into ``language`` when it is done, else the
    original (delivery never waits for a translation)."""
    if message.language and message.language != language:
        translated = (
            MessageTranslation.objects.filter(
                message=message, target_language=language, status=TranslationStatus.DONE
            )
            .values_list("text", flat=True)
            .first()
        )
        if translated:
            return translated, language
    return message.text, message.language or ""


def _leaving_the_site(url: str) -> str:
    """Cards and bot replies carry site-relative links; in Telegram they must be absolute.
    Private media (proofs, attachments) get a signed token: Telegram fetches without a session."""
    return settings.SITE_URL + with_media_token(url) if url.startswith("/") else url


def _buttons_keyboard(buttons: list[dict[str, Any]]) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    count = 0
    for button in buttons[:MAX_KEYBOARD_BUTTONS]:
        title = str(button.get("title") or "")[:64]
        if not title:
            continue
        url = _leaving_the_site(str(button.get("url") or ""))
        payload = str(button.get("payload") or "")
        if url.startswith(("http://", "https://")):
            builder.button(text=title, url=url)
        elif payload and (callback_data := bot_button_or_none(payload)) is not None:
            builder.button(text=title, callback_data=callback_data)
        else:
            continue  # too long for callback data: the web client still shows it
        count += 1
    if not count:
        return None
    builder.adjust(1)
    return builder.as_markup()


def _product_requests(chat_id: int, card: dict[str, Any]) -> BotRequest:
    keyboard = product_card_keyboard(
        product_id=int(card["product_id"]),
        labels=ProductCardLabels(
            details=_("Details"), ask_artisan=_("Ask the artisan"), buy=_("Buy")
        ),
    )
    caption = _clip(product_caption(card), MAX_CAPTION)
    if card.get("image_url"):
        return OutboundPhoto(
            chat_id=chat_id,
            photo_url=_leaving_the_site(card["image_url"]),
            caption=caption,
            reply_markup=keyboard,
        )
    return OutboundText(chat_id=chat_id, text=caption, reply_markup=keyboard)


def _card_requests(chat_id: int, card: dict[str, Any]) -> BotRequest | None:
    if card.get("type") == "product" and card.get("product_id"):
        return _product_requests(chat_id, card)
    if card.get("type") == "artisan":
        lines = [card.get("shop") or "", card.get("tagline") or "", card.get("region") or ""]
        text = "\n".join(line for line in lines if line)
        buttons = list(card.get("buttons") or [])
        if card.get("url"):
            buttons.append({"title": _("Open the shop"), "url": card["url"]})
        keyboard = _buttons_keyboard(buttons)
        if card.get("image_url"):
            return OutboundPhoto(
                chat_id=chat_id,
                photo_url=_leaving_the_site(card["image_url"]),
                caption=_clip(text, MAX_CAPTION),
                reply_markup=keyboard,
            )
        return OutboundText(chat_id=chat_id, text=_clip(text, MAX_TEXT), reply_markup=keyboard)
    return None  # order cards: the reply's text already says it all


def _author_prefix(message: Message) -> str:
    if message.author_id is None:
        return ""
    author: User = message.author
    return f"{author.name}: "


def _checkout_keyboard(url: str, label: str, reference: str) -> InlineKeyboardMarkup:
    from bots.services import payment_provider_token

    keyboard = checkout_link_keyboard(checkout_url=url, label=label)
    if not (payment_provider_token() and reference):
        return keyboard
    # Telegram-native payment next to the link, when a payment provider is configured.
    builder = InlineKeyboardBuilder.from_markup(keyboard)
    builder.row()
    builder.button(text=_("Pay in Telegram"), callback_data=PayInTelegram(reference=reference))
    builder.adjust(1)
    return builder.as_markup()


def _reply_keyboard(message: Message) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("↩ Reply to %(name)s") % {"name": message.author.name},
        callback_data=SwitchConversation(conversation_id=message.conversation_id),
    )
    return builder.as_markup()


def _card_text(message: Message, *, chat_id: int, language: str) -> OutboundText:
    """An offer or order card in the recipient's language; its action links leave the site,
    so they are absolute (``SITE_URL``). Call inside ``translation.override``."""
    payload = message.payload or {}
    card = render_card(message.kind, payload, for_buyer=True)
    icon = "📝" if card.kind == "offer" else "📦"
    text = "\n".join([f"{icon} {card.title} — {card.status_label}", *card.lines])
    keyboard = None
    if card.action is not None:
        url = settings.SITE_URL + card.action.path
        label = card.action.label[:64]
        payable = payload.get("payable") if card.kind == "order" else None
        if payable:
            keyboard = _checkout_keyboard(url, label, str(payload.get("order") or ""))
        else:
            keyboard = checkout_link_keyboard(checkout_url=url, label=label)
    return OutboundText(chat_id=chat_id, text=_clip(text, MAX_TEXT), reply_markup=keyboard)


def render_message(
    message: Message,
    *,
    chat_id: int,
    language: str,
    offer_reply: bool = False,
    time_zone: str = "UTC",
    shown: tuple[str, str] | None = None,
) -> list[BotRequest]:
    """The Telegram messages showing one hub message in the buyer's chat.

    ``offer_reply``: the message comes from a conversation the buyer's Telegram text does
    not currently go to; a button lets them answer there. ``shown``: the (text, language)
    ``_shown`` already found, so a delivery reads the translation once.
    """
    payload = message.payload or {}
    text = (shown or _shown(message, language))[0]
    with translation.override(language), timezone.override(_zone(time_zone)):
        if message.kind == MessageKind.BOT:
            requests: list[BotRequest] = []
            if text:
                requests.append(
                    OutboundText(
                        chat_id=chat_id,
                        text=_clip(text, MAX_TEXT),
                        reply_markup=_buttons_keyboard(list(payload.get("buttons") or [])),
                    )
                )
            for card in payload.get("cards") or []:
                request = _card_requests(chat_id, card)
                if request is not None:
                    requests.append(request)
            return requests
        if message.kind in (MessageKind.OFFER, MessageKind.ORDER_UPDATE) and payload.get("card"):
            return [_card_text(message, chat_id=chat_id, language=language)]
        if message.kind == MessageKind.SYSTEM and payload.get("event"):
            line = render_system_line(payload)
            if not line:
                return []
            reference = str(payload.get("order") or "")
            keyboard = (
                checkout_link_keyboard(
                    checkout_url=settings.SITE_URL + order_path(reference),
                    label=_("Order details"),
                )
                if reference
                else None
            )
            return [
                OutboundText(chat_id=chat_id, text=_clip(line, MAX_TEXT), reply_markup=keyboard)
            ]
        if message.kind in (MessageKind.OFFER, MessageKind.ORDER_UPDATE):
            # Cards stored before cards became data carry their own text.
            return (
                [OutboundText(chat_id=chat_id, text=_clip(f"📦 {text}", MAX_TEXT))] if text else []
            )
        if message.kind == MessageKind.IMAGE or message.attachments.exists():
            requests = []
            for index, attachment in enumerate(message.attachments.all()[:10]):
                caption = (
                    _clip(_author_prefix(message) + text, MAX_CAPTION)
                    if index == 0 and text
                    else None
                )
                requests.append(
                    OutboundPhoto(
                        chat_id=chat_id,
                        photo_url=_leaving_the_site(attachment.file.url),
                        caption=caption,
                    )
                )
            if requests:
                return requests
        if not text:
            return []
        return [
            OutboundText(
                chat_id=chat_id,
                text=_clip(_author_prefix(message) + text, MAX_TEXT),
                reply_markup=_reply_keyboard(message)
                if offer_reply and message.author_id
                else None,
            )
        ]


# --- delivery ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str
    reports: tuple[DeliveryReport, ...] = ()


def _claim_delivery(message: Message, account: TelegramAccount) -> TelegramDelivery | None:
    try:
        with transaction.atomic():
            return TelegramDelivery.objects.create(message=message, account=account)
    except IntegrityError:
        existing = TelegramDelivery.objects.filter(message=message).first()
        # A retry of a delivery that never finished may go again; a finished one may not.
        if existing is not None and existing.status == "pending" and existing.delivered_at is None:
            return existing
        return None


def deliver_message(message_id: int, *, sender: Any | None = None) -> DeliveryOutcome:
    """Push one hub message to the buyer's Telegram chat (at most once)."""
    message = Message.objects.select_related("conversation", "author").filter(pk=message_id).first()
    if message is None:
        return DeliveryOutcome("missing")
    account = recipient_account(message)
    if account is None:
        return DeliveryOutcome("not_for_telegram")
    if account.unreachable_since is not None:
        return DeliveryOutcome("unreachable")
    delivery = _claim_delivery(message, account)
    if delivery is None:
        return DeliveryOutcome("already_delivered")
    language = account.user.preferred_language or settings.LANGUAGE_CODE
    shown = _shown(message, language)
    requests = render_message(
        message,
        chat_id=account.chat_id,
        language=language,
        offer_reply=account.active_conversation_id != message.conversation_id,
        time_zone=account.user.time_zone or "UTC",
        shown=shown,
    )
    if not requests:
        delivery.status = "empty"
        delivery.save(update_fields=["status"])
        return DeliveryOutcome("empty")
    if sender is None:
        from bots.sender import get_sender

        sender = get_sender()
    reports = sender.send(requests)
    sent = [report for report in reports if report.delivered]
    failed = [report for report in reports if not report.delivered]
    delivery.telegram_message_ids = [report.message_id for report in sent]
    delivery.status = "sent" if not failed else failed[0].status.value
    delivery.reason = (failed[0].reason if failed else "")[:255]
    delivery.delivered_at = timezone.now()
    delivery.shown_language = shown[1]
    delivery.save(
        update_fields=[
            "telegram_message_ids",
            "status",
            "reason",
            "delivered_at",
            "shown_language",
        ]
    )
    if any(report.status is DeliveryStatus.BLOCKED for report in failed):
        from bots.services import mark_unreachable

        mark_unreachable(account_id=account.pk)
    return DeliveryOutcome(delivery.status, tuple(reports))


def show_translation(message_id: int, language: str, *, sender: Any | None = None) -> str:
    """The hub finished translating a message the buyer already received in the original:
    edit the translation into the Telegram message (text messages; cards are rendered in
    the buyer's language from data and need none). At most once per delivery and language:
    the row is claimed before the edit, so a repeated call edits nothing."""
    delivery = (
        TelegramDelivery.objects.select_related("message", "account__user")
        .filter(message_id=message_id, status="sent")
        .first()
    )
    if delivery is None or len(delivery.telegram_message_ids) != 1:
        return "nothing_to_edit"
    message, account = delivery.message, delivery.account
    if (account.user.preferred_language or settings.LANGUAGE_CODE) != language:
        return "other_language"
    if message.kind != MessageKind.TEXT or message.attachments.exists():
        return "not_text"
    claimed = (
        TelegramDelivery.objects.filter(pk=delivery.pk)
        .exclude(shown_language=language)
        .update(shown_language=language)
    )
    if not claimed:
        return "already_shown"
    [request] = render_message(
        message,
        chat_id=account.chat_id,
        language=language,
        offer_reply=account.active_conversation_id != message.conversation_id,
        time_zone=account.user.time_zone or "UTC",
    ) or [None]
    if not isinstance(request, OutboundText):
        return "not_text"
    if sender is None:
        from bots.sender import get_sender

        sender = get_sender()
    try:
        sender.call(
            EditMessageText(
                chat_id=request.chat_id,
                message_id=delivery.telegram_message_ids[0],
                text=request.text,
                reply_markup=request.reply_markup,
            )
        )
    except TelegramAPIError as error:
        # The original stays readable; a message too old to edit is not worth a retry.
        logger.warning("translation of message %s not edited in: %s", message_id, error)
        return "not_edited"
    return "edited"


# --- offline notifications ------------------------------------------------------------------------


def notify_on_telegram(
    user: User, participant: Participant, messages: list[Message], link: str
) -> bool:
    """Notifier for ``conversations.notifications``: one note per burst of unread messages
    (only those not already pushed live)."""
    account = TelegramAccount.objects.filter(user=user, unreachable_since__isnull=True).first()
    if account is None:
        return False
    pending = [
        m
        for m in messages
        if not TelegramDelivery.objects.filter(message=m, status="sent").exists()
    ]
    if not pending:
        return False
    conversation = participant.conversation
    other = conversation.artisan if participant.role == "buyer" else conversation.buyer
    with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
        text = _("%(count)s new message(s) from %(name)s in “%(subject)s”.") % {
            "count": len(pending),
            "name": other.name if other else _("Atelier"),
            "subject": conversation.subject or _("your conversation"),
        }
        keyboard = checkout_link_keyboard(checkout_url=link, label=_("Open the conversation"))
    from bots.sender import get_sender

    reports = get_sender().send(
        [OutboundText(chat_id=account.chat_id, text=text, reply_markup=keyboard)]
    )
    return bool(reports) and reports[0].delivered
