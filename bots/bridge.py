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
import threading
import time
import uuid
import zoneinfo
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.methods import EditMessageText
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from bots.models import DeliveryState, TelegramAccount, TelegramDelivery
from bots.telegram.invoices import BotRequest
from bots.telegram.keyboards import (
    PayInTelegram,
    ProductCardLabels,
    SwitchConversation,
    bot_button_or_none,
    checkout_link_keyboard,
    csat_keyboard,
    product_card_keyboard,
)
from bots.telegram.outbox import (
    DeliveryReport,
    DeliveryStatus,
    OutboundPhoto,
    OutboundText,
)
from bots.telegram.text import CAPTION_LIMIT, MESSAGE_LIMIT, split_text, telegram_length
from commerce.card_render import (
    csat_closed,
    csat_score,
    csat_strings,
    render_card,
    render_csat_card,
    render_system_line,
)
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
MAX_TEXT = MESSAGE_LIMIT
MAX_CAPTION = CAPTION_LIMIT
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
    """Cards only (built from catalogue data, with a link to the whole): people's own
    words are split into several messages instead (``_texts``)."""
    if telegram_length(text) <= limit:
        return text
    return split_text(text, limit - 1)[0] + "…"


def _texts(
    chat_id: int, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> list[OutboundText]:
    """``text`` as one Telegram message, or several when it is longer than Telegram takes
    (never cut); the buttons go with the last part."""
    parts = split_text(text, MAX_TEXT)
    return [
        OutboundText(
            chat_id=chat_id,
            text=part,
            reply_markup=reply_markup if index == len(parts) - 1 else None,
        )
        for index, part in enumerate(parts)
    ]


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


def csat_question(
    *, chat_id: int, reference: str, score: int | None, closed: bool = False
) -> OutboundText:
    """The CSAT question as its own Telegram message (Telegram never edits a sent order
    card): the order, the question, the answer once given, and five buttons 1–5 in the
    buyer's language. The button handler (bots/routers/csat.py) edits the same message
    with this after a tap. Call inside ``translation.override``."""
    card = render_csat_card({"order": reference, "score": score, "closed": closed}, for_buyer=True)
    option = csat_strings()["option"]
    keyboard = (
        None  # refunded: nothing left to answer
        if closed
        else csat_keyboard(
            reference=reference,
            labels={value: option % {"score": value} for value in range(1, 6)},
            chosen=score,
        )
    )
    text = "\n".join([f"⭐ {card.title}", *card.lines])
    return OutboundText(chat_id=chat_id, text=text, reply_markup=keyboard)


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
                requests.extend(
                    _texts(chat_id, text, _buttons_keyboard(list(payload.get("buttons") or [])))
                )
            for card in payload.get("cards") or []:
                request = _card_requests(chat_id, card)
                if request is not None:
                    requests.append(request)
            return requests
        if message.kind == MessageKind.ORDER_UPDATE and payload.get("card") == "csat":
            reference = str(payload.get("order") or "")
            score = csat_score(payload)
            closed = csat_closed(payload)
            return [csat_question(chat_id=chat_id, reference=reference, score=score, closed=closed)]
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
            return list(_texts(chat_id, line, keyboard))
        if message.kind in (MessageKind.OFFER, MessageKind.ORDER_UPDATE):
            # Cards stored before cards became data carry their own text.
            return list(_texts(chat_id, f"📦 {text}")) if text else []
        if message.kind == MessageKind.IMAGE or message.attachments.exists():
            requests = []
            rest = ""
            for index, attachment in enumerate(message.attachments.all()[:10]):
                caption = None
                if index == 0 and text:
                    # A caption takes 1,024 units; what does not fit follows as text.
                    caption, *more = split_text(_author_prefix(message) + text, MAX_CAPTION)
                    rest = " ".join(more)
                requests.append(
                    OutboundPhoto(
                        chat_id=chat_id,
                        photo_url=_leaving_the_site(attachment.file.url),
                        caption=caption,
                    )
                )
            if requests:
                return requests + (_texts(chat_id, rest) if rest else [])
        if not text:
            return []
        return list(
            _texts(
                chat_id,
                _author_prefix(message) + text,
                _reply_keyboard(message) if offer_reply and message.author_id else None,
            )
        )


# --- delivery ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str
    reports: tuple[DeliveryReport, ...] = ()


class DeliveryInProgress(Exception):
    """The delivery is held by an attempt that is still waiting for Telegram (its own
    outbox is honouring a flood wait, or another worker holds the claim): look again in
    ``retry_in`` seconds. Nothing is sent twice and nothing is lost: the holder records
    the outcome, or its lease runs out and a later attempt takes over."""

    def __init__(self, message_id: int, retry_in: float) -> None:
        super().__init__(f"the Telegram delivery of message {message_id} is still in progress")
        self.retry_in = retry_in


class DeliveryFailed(Exception):
    """Telegram kept failing on the network or server side (or the outbox closed): the
    claim is released with the parts already sent kept, so the next attempt sends only
    the rest."""


def _lease() -> timedelta:
    return timedelta(seconds=settings.TELEGRAM_DELIVERY_LEASE_SECONDS)


class _LeaseKeeper:
    """Renews the leases of deliveries this process still holds after their caller
    stopped waiting (the outbox is honouring a long flood wait), so no other attempt
    takes them over while they are queued here. One daemon thread, only while needed."""

    def __init__(self) -> None:
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, token: str, delivery_id: int) -> None:
        with self._lock:
            self._held[token] = delivery_id
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="telegram-delivery-leases", daemon=True
                )
                self._thread.start()

    def release(self, token: str) -> None:
        with self._lock:
            self._held.pop(token, None)

    def holding(self) -> set[str]:
        with self._lock:
            return set(self._held)

    def _run(self) -> None:
        while True:
            time.sleep(max(settings.TELEGRAM_DELIVERY_LEASE_SECONDS / 3, 0.05))
            tokens = self.holding()
            if not tokens:
                with self._lock:
                    if not self._held:
                        self._thread = None
                        return
                continue
            try:
                TelegramDelivery.objects.filter(
                    claim_token__in=tokens, status=DeliveryState.SENDING
                ).update(lease_until=timezone.now() + _lease())
            except Exception:  # the database is away: the next round tries again
                logger.exception("Telegram delivery leases not renewed")
            finally:
                connections.close_all()  # this thread's own, between rounds


_leases = _LeaseKeeper()
# Outcomes that arrive after the caller stopped waiting are written here, in order.
_late_recorder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="telegram-delivery")


def _claim(message: Message, account: TelegramAccount) -> tuple[TelegramDelivery, str]:
    """Take the message's delivery row for this attempt: create it, or take it over when
    nobody holds it (pending) or its holder's lease ran out (a killed worker). One UPDATE
    decides, so two attempts can never both hold it. Raises ``DeliveryInProgress`` while
    a live attempt holds it; returns (row, token), or (row, "") when it is finished."""
    with transaction.atomic():
        TelegramDelivery.objects.get_or_create(message=message, defaults={"account": account})
    now = timezone.now()
    token = uuid.uuid4().hex
    claimed = (
        TelegramDelivery.objects.filter(message=message)
        .filter(
            Q(status=DeliveryState.PENDING)
            | Q(status=DeliveryState.SENDING, lease_until__lt=now)
            | Q(status=DeliveryState.SENDING, lease_until__isnull=True)
        )
        .update(
            status=DeliveryState.SENDING,
            claim_token=token,
            lease_until=now + _lease(),
            attempts=F("attempts") + 1,
            account=account,
        )
    )
    delivery = TelegramDelivery.objects.get(message=message)
    if claimed:
        return delivery, token
    if delivery.status == DeliveryState.SENDING:
        left = (delivery.lease_until - now).total_seconds() if delivery.lease_until else 0.0
        raise DeliveryInProgress(message.pk, retry_in=max(left, 1.0) + 1.0)
    return delivery, ""


_PERMANENT = {
    DeliveryStatus.BLOCKED: DeliveryState.BLOCKED,
    DeliveryStatus.CHAT_NOT_FOUND: DeliveryState.CHAT_NOT_FOUND,
    DeliveryStatus.REJECTED: DeliveryState.REJECTED,
}


def _record(delivery_id: int, token: str, parts: list[int], reports: list[DeliveryReport]) -> str:
    """Write what Telegram answered for the parts sent by the attempt holding ``token``
    (``parts[i]`` is the index of ``reports[i]`` among the message's parts). Returns the
    row's new status; a claim taken over meanwhile writes nothing."""
    _leases.release(token)
    with transaction.atomic():
        delivery = (
            TelegramDelivery.objects.select_for_update()
            .filter(pk=delivery_id, claim_token=token, status=DeliveryState.SENDING)
            .first()
        )
        if delivery is None:
            return "taken_over"
        ids = list(delivery.telegram_message_ids)
        for index, report in zip(parts, reports, strict=True):
            if report.delivered:
                ids[index] = report.message_id
        failed = [report for report in reports if not report.delivered]
        permanent = [report for report in failed if report.status in _PERMANENT]
        delivery.telegram_message_ids = ids
        delivery.reason = (failed[0].reason if failed else "")[:255]
        if not failed:
            delivery.status = DeliveryState.SENT
        elif permanent:
            delivery.status = _PERMANENT[permanent[0].status]
            delivery.reason = permanent[0].reason[:255]
        else:
            # Network or server trouble, or the outbox closed: the next attempt sends
            # the parts still None, nothing else.
            delivery.status = DeliveryState.PENDING
        delivery.lease_until = None
        delivery.claim_token = ""
        if delivery.status != DeliveryState.PENDING:
            delivery.delivered_at = timezone.now()
        delivery.save(
            update_fields=[
                "telegram_message_ids",
                "status",
                "reason",
                "lease_until",
                "claim_token",
                "delivered_at",
            ]
        )
    if delivery.status == DeliveryState.BLOCKED:
        from bots.services import mark_unreachable

        mark_unreachable(account_id=delivery.account_id)
    return delivery.status


def _record_late(
    delivery_id: int, token: str, parts: list[int], reports: list[DeliveryReport]
) -> None:
    try:
        _record(delivery_id, token, parts, reports)
    except Exception:  # the lease runs out and a later attempt sends what is missing
        logger.exception("late Telegram outcome of delivery %s not recorded", delivery_id)
    finally:
        connections.close_all()  # the recorder thread's own


def _when_answered(delivery_id: int, token: str, parts: list[int], done: Future) -> None:
    # Runs on the sender's loop thread: hand the database write to the recorder thread.
    try:
        reports = done.result()
    except BaseException:  # the sender stopped mid-send: the lease runs out, a retry sends
        logger.exception("Telegram delivery %s ended without a report", delivery_id)
        _leases.release(token)
        return
    _late_recorder.submit(_record_late, delivery_id, token, parts, reports)


def deliver_message(
    message_id: int, *, sender: Any | None = None, wait_seconds: float | None = None
) -> DeliveryOutcome:
    """Push one hub message to the buyer's Telegram chat: exactly once per part while the
    processes live (the claim), at least once if one dies between Telegram's answer and
    the write of it (the lease runs out and the unrecorded part goes again).

    Raises ``DeliveryInProgress`` while an attempt (this one, after ``wait_seconds``, or
    another one) still waits for Telegram, and ``DeliveryFailed`` when Telegram kept
    failing; both mean "look again later", which the follow-up outbox does.
    """
    message = Message.objects.select_related("conversation", "author").filter(pk=message_id).first()
    if message is None:
        return DeliveryOutcome("missing")
    account = recipient_account(message)
    if account is None:
        return DeliveryOutcome("not_for_telegram")
    if account.unreachable_since is not None:
        return DeliveryOutcome("unreachable")
    if sender is None:
        from bots.sender import get_sender

        sender = get_sender()  # raises TelegramNotConfigured before anything is claimed
    delivery, token = _claim(message, account)
    if not token:
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
    ids = list(delivery.telegram_message_ids)
    if len(ids) != len(requests):
        ids = [None] * len(requests)  # first attempt (or the message now renders otherwise)
    if not requests:
        TelegramDelivery.objects.filter(pk=delivery.pk, claim_token=token).update(
            status=DeliveryState.EMPTY, claim_token="", lease_until=None
        )
        return DeliveryOutcome("empty")
    TelegramDelivery.objects.filter(pk=delivery.pk, claim_token=token).update(
        telegram_message_ids=ids, shown_language=shown[1]
    )
    parts = [index for index, sent_id in enumerate(ids) if sent_id is None]
    future = sender.submit([requests[index] for index in parts])
    wait = settings.TELEGRAM_DELIVERY_WAIT_SECONDS if wait_seconds is None else wait_seconds
    try:
        reports = future.result(wait)
    except FutureTimeout:
        # The outbox still holds it (a flood wait): keep the claim alive, write the outcome
        # when Telegram has answered, and tell the caller to look again.
        _leases.hold(token, delivery.pk)
        future.add_done_callback(partial(_when_answered, delivery.pk, token, parts))
        raise DeliveryInProgress(
            message_id, retry_in=settings.TELEGRAM_DELIVERY_LEASE_SECONDS
        ) from None
    status = _record(delivery.pk, token, parts, reports)
    if status == DeliveryState.PENDING:
        failed = next(report for report in reports if not report.delivered)
        raise DeliveryFailed(failed.reason or failed.status.value)
    return DeliveryOutcome(status, tuple(reports))


def _edit_in_place(delivery: TelegramDelivery, request: OutboundText, sender: Any | None) -> None:
    """Replace the text and buttons of a delivered one-part message (no markup: no buttons)."""
    if sender is None:
        from bots.sender import get_sender

        sender = get_sender()
    sender.call(
        EditMessageText(
            chat_id=request.chat_id,
            message_id=delivery.telegram_message_ids[0],
            text=request.text,
            reply_markup=request.reply_markup,
        )
    )


def show_translation(message_id: int, language: str, *, sender: Any | None = None) -> str:
    """The hub finished translating a message the buyer already received in the original:
    edit the translation into the Telegram message (text messages; cards are rendered in
    the buyer's language from data and need none). At most once per delivery and language:
    the row is claimed before the edit, so a repeated call edits nothing."""
    delivery = (
        TelegramDelivery.objects.select_related("message", "account__user")
        .filter(message_id=message_id, status=DeliveryState.SENT)
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
    try:
        _edit_in_place(delivery, request, sender)
    except TelegramAPIError as error:
        # The original stays readable; a message too old to edit is not worth a retry.
        logger.warning("translation of message %s not edited in: %s", message_id, error)
        return "not_edited"
    return "edited"


def card_was_delivered(message: Message) -> bool:
    """A commerce card the buyer got (or is getting) in Telegram: its copy there follows
    its changes (``refresh_card``)."""
    return (
        message.kind in (MessageKind.OFFER, MessageKind.ORDER_UPDATE)
        and bool((message.payload or {}).get("card"))
        and TelegramDelivery.objects.filter(message_id=message.pk).exists()
    )


def refresh_card(message_id: int, *, sender: Any | None = None) -> str:
    """A card the buyer already has in Telegram changed (a CSAT answer given on the web, the
    question closed by a refund, an offer accepted or replaced): edit that Telegram message
    to the card's current state, text and buttons, in the buyer's language. Idempotent: the
    same content again is Telegram's "message is not modified", which changes nothing.

    Raises ``RetryLater`` while the delivery itself is still under way (it renders the card
    as it is when it sends, but may already have rendered it before the change)."""
    from conversations.outbox import RetryLater

    delivery = (
        TelegramDelivery.objects.select_related("message", "account__user")
        .filter(message_id=message_id)
        .first()
    )
    if delivery is None:
        return "not_delivered"
    if delivery.status in (DeliveryState.PENDING, DeliveryState.SENDING):
        raise RetryLater("telegram_in_progress", "the card is still being delivered", counts=False)
    if delivery.status != DeliveryState.SENT or len(delivery.telegram_message_ids) != 1:
        return "nothing_to_edit"
    message, account = delivery.message, delivery.account
    requests = render_message(
        message,
        chat_id=account.chat_id,
        language=account.user.preferred_language or settings.LANGUAGE_CODE,
        time_zone=account.user.time_zone or "UTC",
    )
    if len(requests) != 1 or not isinstance(requests[0], OutboundText):
        return "nothing_to_edit"
    try:
        _edit_in_place(delivery, requests[0], sender)
    except TelegramBadRequest as error:
        if "not modified" in str(error):
            return "unchanged"
        # Too old to edit, or deleted by the buyer: the hub and the web show the truth.
        logger.warning("card %s not edited on Telegram: %s", message_id, error)
        return "not_edited"
    except TelegramRetryAfter as error:
        raise RetryLater("telegram_flood", str(error), delay=error.retry_after) from error
    except (TelegramNetworkError, FutureTimeout) as error:
        raise RetryLater("telegram_network", str(error) or "timed out") from error
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
        if not TelegramDelivery.objects.filter(message=m, status=DeliveryState.SENT).exists()
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
