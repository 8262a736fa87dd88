"""Telegram-side services: identities, linking, the bridge into conversations, payments.

Synchronous (Django ORM). Bot handlers reach them through :class:`bots.bot_services.BotServices`,
one ``sync_to_async`` call per service. Nothing here imports aiogram: handlers turn
Telegram objects into :class:`TelegramIdentity` first.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from bots.models import LinkCode, ProcessedUpdate, TelegramAccount
from commerce.errors import CommerceError
from commerce.models import Order, Product
from commerce.payments.types import (
    InvalidPaymentRequest,
    WebhookEvent,
    from_minor_units,
    to_minor_units,
)
from commerce.services.orders import create_product_order, payable_now
from commerce.services.payments import handle_payment_event
from conversations.models import (
    Channel,
    Conversation,
    ConversationStatus,
    Message,
    Participant,
)
from conversations.services import HubError, post_message, start_conversation
from core.models import Consent, User
from core.services import record_consent
from nlu.dialogue.actions import DialogueContext, buyer_order, run_action
from nlu.dialogue.cards import intent_payload
from nlu.dialogue.engine import post_bot_replies

logger = logging.getLogger(__name__)

GUEST_EMAIL_DOMAIN = "telegram.invalid"
LINK_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LINK_CODE_LENGTH = 8
LINK_CODE_TTL = timedelta(minutes=15)
# Guessing a 40-bit code is hopeless, but a Telegram user still only gets a few tries.
LINK_ATTEMPTS_PER_HOUR = 5
INVOICE_PAYLOAD_PREFIX = "order:"
TELEGRAM_PAYMENT_PROVIDER = "telegram"


class BotServiceError(Exception):
    """A refused bot operation with a message the buyer can read."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class TelegramIdentity:
    """Who wrote, as Telegram tells us (from ``message.from_user`` and ``message.chat``)."""

    telegram_user_id: int
    chat_id: int
    username: str = ""
    first_name: str = ""
    language_code: str = ""


def language_from_telegram(language_code: str | None) -> str:
    """Telegram's IETF tag ("pt-br", "fr") → one of our LANGUAGES, else the default."""
    supported = {code for code, _name in settings.LANGUAGES}
    base = (language_code or "").split("-")[0].lower()
    return base if base in supported else settings.LANGUAGE_CODE


# --- identities ---------------------------------------------------------------------------------


@transaction.atomic
def get_or_create_guest_buyer(*, identity: TelegramIdentity) -> TelegramAccount:
    """The Telegram user's account; a guest buyer (``is_guest``) is created on first contact."""
    account = (
        TelegramAccount.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(telegram_user_id=identity.telegram_user_id)
        .first()
    )
    if account is not None:
        changed = {
            "chat_id": identity.chat_id,
            "username": identity.username[:64],
            "first_name": identity.first_name[:128],
            "language_code": identity.language_code[:16],
        }
        if any(getattr(account, field) != value for field, value in changed.items()) or (
            account.unreachable_since is not None
        ):
            for field, value in changed.items():
                setattr(account, field, value)
            account.unreachable_since = None  # they wrote to us: the bot is not blocked
            account.save(update_fields=[*changed, "unreachable_since"])
        if account.is_guest:
            language = language_from_telegram(identity.language_code)
            if account.user.preferred_language != language:
                account.user.preferred_language = language
                account.user.save(update_fields=["preferred_language"])
        return account
    user = User.objects.create_user(
        email=f"tg-{identity.telegram_user_id}@{GUEST_EMAIL_DOMAIN}",
        display_name=(identity.first_name or identity.username or "")[:80],
        preferred_language=language_from_telegram(identity.language_code),
        is_guest=True,
    )
    return TelegramAccount.objects.create(
        user=user,
        telegram_user_id=identity.telegram_user_id,
        chat_id=identity.chat_id,
        username=identity.username[:64],
        first_name=identity.first_name[:128],
        language_code=identity.language_code[:16],
        is_guest=True,
    )


@transaction.atomic
def create_link_code(*, user: User) -> LinkCode:
    """A one-time code for the web profile page: "send /link CODE to the bot"."""
    if user.is_guest:
        raise BotServiceError(_("Guest accounts cannot be linked."))
    LinkCode.objects.filter(user=user, used_at__isnull=True).delete()  # one live code at a time
    code = "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(LINK_CODE_LENGTH))
    return LinkCode.objects.create(user=user, code=code, expires_at=timezone.now() + LINK_CODE_TTL)


def _count_link_attempt(telegram_user_id: int) -> None:
    key = f"bots:link-attempts:{telegram_user_id}"
    cache.add(key, 0, timeout=3600)
    if cache.incr(key) > LINK_ATTEMPTS_PER_HOUR:
        raise BotServiceError(_("Too many attempts. Try again in an hour."))


@transaction.atomic
def link_account(*, code: str, identity: TelegramIdentity) -> TelegramAccount:
    """Attach this Telegram user to the web account that generated ``code`` (single use).

    The guest account's past conversations stay with the guest user; from now on the
    Telegram chat speaks for the linked account.
    """
    _count_link_attempt(identity.telegram_user_id)
    normalised = (code or "").strip().upper()
    link = (
        LinkCode.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(code=normalised)
        .first()
    )
    if link is None or not link.is_usable:
        raise BotServiceError(
            _("This code is invalid or expired. Create a new one on your Atelier profile page.")
        )
    target = link.user
    if not target.is_active or target.is_suspended:
        raise BotServiceError(_("This account cannot be linked."))
    account = get_or_create_guest_buyer(identity=identity)
    if account.user_id != target.pk:
        # The web account may have been linked to another Telegram user before: replace it.
        TelegramAccount.objects.filter(user=target).exclude(pk=account.pk).delete()
        account.user = target
        account.is_guest = False
        account.linked_at = timezone.now()
        account.active_conversation = None
        account.save(update_fields=["user", "is_guest", "linked_at", "active_conversation"])
    link.used_at = timezone.now()
    link.used_by_telegram_id = identity.telegram_user_id
    link.save(update_fields=["used_at", "used_by_telegram_id"])
    return account


# --- updates -----------------------------------------------------------------------------------------


def claim_update(*, update_id: int) -> bool:
    """True the first time ``update_id`` is seen; Telegram re-delivers until acknowledged."""
    try:
        with transaction.atomic():
            ProcessedUpdate.objects.create(update_id=update_id)
    except IntegrityError:
        return False
    return True


def prune_processed_updates(*, older_than: timedelta = timedelta(days=2)) -> int:
    """Telegram keeps undelivered updates for 24 hours; older markers are useless."""
    deleted, _rows = ProcessedUpdate.objects.filter(
        received_at__lt=timezone.now() - older_than
    ).delete()
    return deleted


# --- conversations --------------------------------------------------------------------------------


def _usable(conversation: Conversation | None, account: TelegramAccount) -> bool:
    return (
        conversation is not None
        and conversation.status == ConversationStatus.OPEN
        and Participant.objects.filter(conversation=conversation, user_id=account.user_id).exists()
    )


@transaction.atomic
def open_shop_bot_conversation(*, account: TelegramAccount) -> Conversation:
    """The buyer's conversation with the shop bot (continued if open), made active."""
    conversation = start_conversation(
        buyer=account.user, artisan=None, subject=_("Shop assistant"), channel=Channel.TELEGRAM
    )
    _set_active(account, conversation)
    return conversation


def _set_active(account: TelegramAccount, conversation: Conversation) -> None:
    if account.active_conversation_id != conversation.pk:
        account.active_conversation = conversation
        TelegramAccount.objects.filter(pk=account.pk).update(active_conversation=conversation)


def switch_conversation(*, account: TelegramAccount, conversation_id: int) -> Conversation:
    """The "Reply to …" button: the buyer's next messages go to that conversation."""
    conversation = Conversation.objects.select_related("artisan").filter(pk=conversation_id).first()
    if not _usable(conversation, account):
        raise BotServiceError(_("This conversation is closed or not yours."))
    _set_active(account, conversation)
    return conversation


def active_conversation(*, account: TelegramAccount) -> Conversation:
    """Where the buyer's free text goes: the active chat, or the shop bot."""
    conversation = (
        Conversation.objects.filter(pk=account.active_conversation_id).first()
        if account.active_conversation_id
        else None
    )
    if _usable(conversation, account):
        return conversation
    return open_shop_bot_conversation(account=account)


def handle_incoming_text(
    *,
    account: TelegramAccount,
    text: str,
    client_id: str,
    intent: str | None = None,
) -> Message:
    """A Telegram buyer's text → ``post_message`` into their active conversation.

    ``client_id`` comes from Telegram's ids (message or callback query), so a re-delivered
    update cannot post twice. ``intent`` carries a button's ``/intent{...}`` payload for the bot.
    Raises ``HubError`` (suspended, blocked, too long...) with a readable message.
    """
    conversation = active_conversation(account=account)
    result = post_message(
        conversation=conversation,
        author=account.user,
        text=text,
        client_id=client_id,
        channel=Channel.TELEGRAM,
        payload={"intent_payload": intent} if intent else None,
    )
    return result.message


def _post_bot_action(
    *, account: TelegramAccount, action: str, entities: dict[str, list[str]], text: str = ""
) -> list[Message]:
    """Run one dialogue action for a command/deep link and post its replies into the
    shop-bot conversation (the bridge then delivers them, like any bot reply)."""
    conversation = open_shop_bot_conversation(account=account)
    with translation.override(account.user.preferred_language or settings.LANGUAGE_CODE):
        replies = run_action(
            action,
            DialogueContext(
                conversation=conversation,
                buyer=account.user,
                text=text,
                intent=action,
                entities=entities,
            ),
        )
        return post_bot_replies(conversation=conversation, replies=replies)


def start_chat(*, account: TelegramAccount, start_payload: str = "") -> list[Message]:
    """``/start`` and its deep links: ``artisan_<id>``, ``product_<id>``, ``order_<ref>``."""
    payload = (start_payload or "").strip()
    kind, _sep, value = payload.partition("_")
    if kind == "artisan" and value.isdigit():
        return _post_bot_action(
            account=account, action="action_show_artisan", entities={"artisan_id": [value]}
        )
    if kind == "product" and value.isdigit():
        return _post_bot_action(
            account=account, action="action_product_details", entities={"product_id": [value]}
        )
    if kind == "order" and value:
        return _post_bot_action(
            account=account, action="action_order_status", entities={"order_ref": [value.upper()]}
        )
    messages = _post_bot_action(account=account, action="utter_greet", entities={})
    if payload:
        # An unknown or mangled deep link: greet, and say the link led nowhere.
        messages += post_bot_replies(
            conversation=open_shop_bot_conversation(account=account),
            replies=_plain_reply(_("That link doesn't lead anywhere any more.")),
        )
    return messages


def _plain_reply(text: str) -> list:
    from nlu.dialogue.cards import reply

    return [reply(text)]


def run_command(
    *, account: TelegramAccount, action: str, entities: dict[str, list[str]] | None = None
) -> list[Message]:
    """``/help``, ``/orders`` ...: one dialogue action, answered in the shop-bot chat."""
    return _post_bot_action(account=account, action=action, entities=entities or {})


def search_products(*, account: TelegramAccount, query: str) -> list[Message]:
    """``/search red wool scarf``: the query's entities (from the NLU engine) drive the search."""
    from nlu.interface import NLUUnavailable, get_nlu_engine, get_shared_embedded_nlu

    entities: dict[str, list[str]] = {}
    if query.strip():
        try:
            parsed = get_nlu_engine().parse(query, account.user.preferred_language)
        except NLUUnavailable:
            parsed = get_shared_embedded_nlu().parse(query, account.user.preferred_language)
        entities = parsed.entity_values()
    return _post_bot_action(
        account=account, action="action_search_products", entities=entities, text=query
    )


def ask_artisan_about_product(
    *, account: TelegramAccount, product_id: int, client_id: str
) -> Message:
    """The "Ask the artisan" button: the buyer's question goes to the piece's artisan.

    Posted as the buyer's message with the ``talk_to_artisan`` intent, so the shop bot
    hands the conversation over exactly as it does for typed requests.
    """
    product = Product.objects.select_related("shop__user").filter(pk=product_id).first()
    if product is None:
        raise BotServiceError(_("Sorry, this piece is no longer available."))
    conversation = active_conversation(account=account)
    if conversation.artisan_id not in (None, product.shop.user_id):
        conversation = open_shop_bot_conversation(account=account)
    _set_active(account, conversation)
    with translation.override(account.user.preferred_language or settings.LANGUAGE_CODE):
        text = _("I'd like to ask about “%(title)s”.") % {"title": product.title}
    return handle_incoming_text(
        account=account,
        text=text,
        client_id=client_id,
        intent=intent_payload("talk_to_artisan", product_id=product.pk),
    )


# --- buying ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurchaseOutcome:
    order: Order | None
    product_url: str = ""
    message: str = ""


def buy_product(*, account: TelegramAccount, product_id: int) -> PurchaseOutcome:
    """The "Buy" button: order a listed piece (no options to choose); commerce posts its
    checkout link into the order's conversation, and the bridge pushes it here."""
    from commerce import selectors as commerce_selectors
    from nlu.dialogue.cards import product_url

    product = commerce_selectors.listed_products().filter(pk=product_id).first()
    if product is None:
        return PurchaseOutcome(None, message=_("Sorry, this piece is no longer available."))
    if product.options.filter(required=True).exists():
        return PurchaseOutcome(
            None,
            product_url=settings.SITE_URL + product_url(product),
            message=_("Choose your options for “%(title)s” on its page.")
            % {"title": product.title},
        )
    try:
        # The checkout card (an order card) is pushed to Telegram wherever the order's
        # conversation lives; the buyer keeps talking to the shop bot meanwhile.
        order = create_product_order(buyer=account.user, product=product, selections={})
    except (CommerceError, HubError) as error:
        return PurchaseOutcome(None, message=str(getattr(error, "message", "") or error))
    return PurchaseOutcome(order)


def payment_provider_token() -> str:
    return str(getattr(settings, "TELEGRAM_PAYMENT_PROVIDER_TOKEN", "") or "")


@dataclass(frozen=True)
class InvoiceSpec:
    title: str
    description: str
    payload: str
    currency: str
    amount_minor: int
    label: str


def invoice_for_order(*, account: TelegramAccount, reference: str) -> InvoiceSpec:
    """What to put in ``sendInvoice`` for the amount due now on the buyer's own order."""
    if not payment_provider_token():
        raise BotServiceError(_("Paying inside Telegram is not available; use the payment link."))
    order = buyer_order(buyer=account.user, reference=reference)
    if order is None:
        raise BotServiceError(_("I can't find this order on your account."))
    payable = payable_now(order)
    if payable is None:
        raise BotServiceError(
            _("There is nothing to pay on order %(reference)s.") % {"reference": order.reference}
        )
    try:
        amount_minor = to_minor_units(payable.amount, order.currency)
    except InvalidPaymentRequest as error:
        raise BotServiceError(_("This amount cannot be paid in Telegram.")) from error
    return InvoiceSpec(
        title=_("Order %(reference)s") % {"reference": order.reference},
        description=order.title[:255] or order.reference,
        payload=f"{INVOICE_PAYLOAD_PREFIX}{order.reference}:{payable.purpose}",
        currency=order.currency,
        amount_minor=amount_minor,
        label=str(payable.purpose).title(),
    )


def _order_from_invoice_payload(payload: str) -> tuple[str, str] | None:
    if not payload.startswith(INVOICE_PAYLOAD_PREFIX):
        return None
    reference, _sep, purpose = payload[len(INVOICE_PAYLOAD_PREFIX) :].partition(":")
    return (reference, purpose) if reference else None


def check_pre_checkout(
    *, telegram_user_id: int, invoice_payload: str, currency: str, total_amount: int
) -> str | None:
    """Validate a ``pre_checkout_query``: None means OK, else the error to show.

    The order must be the payer's own, still payable, for the same stage, currency and
    amount as the invoice (an invoice sent before a change order must not be paid).
    """
    parsed = _order_from_invoice_payload(invoice_payload or "")
    account = (
        TelegramAccount.objects.select_related("user")
        .filter(telegram_user_id=telegram_user_id)
        .first()
    )
    if parsed is None or account is None:
        return _("This invoice is not valid any more.")
    reference, purpose = parsed
    with translation.override(account.user.preferred_language or settings.LANGUAGE_CODE):
        order = buyer_order(buyer=account.user, reference=reference)
        if order is None:
            return _("This invoice is not valid any more.")
        payable = payable_now(order)
        if payable is None:
            return _("Order %(reference)s has nothing left to pay.") % {
                "reference": order.reference
            }
        if payable.purpose != purpose or currency != order.currency:
            return _("This invoice is out of date; ask for a new one.")
        try:
            expected = to_minor_units(payable.amount, order.currency)
        except InvalidPaymentRequest:
            return _("This amount cannot be paid in Telegram.")
        if expected != total_amount:
            return _("The amount changed since this invoice was sent; ask for a new one.")
    return None


def record_telegram_payment(
    *,
    telegram_user_id: int,
    invoice_payload: str,
    currency: str,
    total_amount: int,
    telegram_payment_charge_id: str,
    provider_payment_charge_id: str,
) -> str:
    """A ``successful_payment`` → the same exactly-once payment path as provider webhooks."""
    parsed = _order_from_invoice_payload(invoice_payload or "")
    account = (
        TelegramAccount.objects.select_related("user")
        .filter(telegram_user_id=telegram_user_id)
        .first()
    )
    if parsed is None or account is None:
        logger.error(
            "Telegram payment %s with unusable payload %r",
            telegram_payment_charge_id,
            invoice_payload,
        )
        return "unknown_order"
    order = buyer_order(buyer=account.user, reference=parsed[0])
    if order is None:
        logger.error("Telegram payment %s for an order not the payer's", telegram_payment_charge_id)
        return "unknown_order"
    amount: Decimal = from_minor_units(total_amount, currency)
    outcome = handle_payment_event(
        event=WebhookEvent(
            provider=TELEGRAM_PAYMENT_PROVIDER,
            event_id=telegram_payment_charge_id,
            event_type="payment.succeeded",
            provider_payment_id=provider_payment_charge_id or telegram_payment_charge_id,
            order_reference=order.reference,
            amount=amount,
            currency=currency,
            created=timezone.now(),
            raw_type="successful_payment",
        )
    )
    return outcome.outcome


# --- campaigns ----------------------------------------------------------------------------------------


def set_campaign_consent(*, account: TelegramAccount, granted: bool) -> Consent:
    return record_consent(
        user=account.user,
        purpose=Consent.Purpose.MARKETING_TELEGRAM,
        granted=granted,
        source="telegram",
    )


def opt_out_of_campaign(*, account: TelegramAccount, recipient_id: int) -> None:
    """The campaign message's "Unsubscribe" button: Telegram news off for this person.

    Whatever the button's id says, only the tapping account's own consent changes (a forged
    callback cannot unsubscribe somebody else)."""
    set_campaign_consent(account=account, granted=False)
    logger.info("campaign opt-out from Telegram (recipient row %s)", recipient_id)


def reply_to_campaign_from_telegram(*, account: TelegramAccount, recipient_id: int) -> Conversation:
    """The campaign message's "Reply to <shop>" button: the buyer's thread with the shop is
    opened or continued with the campaign as its context, and their next messages go there.
    Only the tapping account's own delivered campaign message counts (a forged id is refused)."""
    from commerce.models import CampaignRecipient, RecipientState
    from commerce.services.marketing import reply_to_campaign

    recipient = (
        CampaignRecipient.objects.select_related("campaign__shop__user", "campaign__product")
        .filter(pk=recipient_id, user=account.user, state=RecipientState.SENT)
        .first()
    )
    if recipient is None:
        raise BotServiceError(_("This news is no longer available."))
    try:
        conversation = reply_to_campaign(recipient=recipient)
    except HubError as error:
        raise BotServiceError(error.message) from error
    _set_active(account, conversation)
    return conversation


def rate_order_from_telegram(*, account: TelegramAccount, reference: str, score: int) -> int:
    """A CSAT button: the tapping account's user answers for the order (channel telegram).
    Anyone but the order's buyer gets the service's polite refusal; returns the score."""
    from commerce.services.csat import rate_order

    order = Order.objects.filter(reference=reference).first()
    if order is None:
        raise BotServiceError(_("I can't find this order on your account."))
    try:
        rating = rate_order(buyer=account.user, order=order, score=score, channel="telegram")
    except CommerceError as error:
        raise BotServiceError(error.message) from error
    return rating.score


def mark_unreachable(*, account_id: int) -> None:
    TelegramAccount.objects.filter(pk=account_id, unreachable_since__isnull=True).update(
        unreachable_since=timezone.now()
    )
