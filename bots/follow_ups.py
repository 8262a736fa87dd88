"""Hooks the bot layer adds to ``post_message`` (outbox entries written with each message)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import connection

from bots.models import TelegramAccount
from conversations.models import Message
from conversations.outbox import RetryLater
from core.models import User

logger = logging.getLogger(__name__)


# The name under which the message write returns "the buyer has an active Telegram chat".
BUYER_ON_TELEGRAM = "buyer_on_telegram"


def buyer_on_telegram_sql(column: Callable[[str], str]) -> str:
    """SQL for ``BUYER_ON_TELEGRAM``, evaluated by the message write itself (one statement
    instead of a lookup per message for the many buyers who only use the web)."""
    quote = connection.ops.quote_name
    account, user = TelegramAccount._meta, User._meta
    return (
        f"EXISTS (SELECT 1 FROM {quote(account.db_table)} ta"  # noqa: S608 - model metadata only
        f" JOIN {quote(user.db_table)} tu"
        f" ON tu.{quote(user.pk.column)} = ta.{quote(account.get_field('user').column)}"
        f" WHERE ta.{quote(account.get_field('user').column)} = {column('buyer')}"
        f" AND tu.{quote(user.get_field('is_active').column)})"
    )


def goes_to_telegram(message: Message) -> bool:
    """Anything not written by the buyer, in a conversation whose buyer uses Telegram."""
    if message.author_id is not None and message.author_id == message.conversation.buyer_id:
        return False
    known = getattr(message, "write_facts", {}).get(BUYER_ON_TELEGRAM)
    if known is False:  # the write saw no active Telegram account: nothing to push
        return False
    from bots.bridge import recipient_account

    return recipient_account(message) is not None


def deliver_to_telegram(message_id: int) -> str:
    """Push one hub message to the buyer's Telegram chat (one ``TelegramDelivery`` per
    message, claimed atomically: a retry never sends what another attempt holds).

    The process's rate-limited sender waits out every 429 and retries 5xx/network errors
    before reporting; while it still waits, or after it gave up on a network fault, the
    follow-up outbox looks again later (a wait does not use up an attempt).
    """
    from bots.bridge import DeliveryFailed, DeliveryInProgress, deliver_message
    from bots.telegram.client import TelegramNotConfigured

    try:
        return deliver_message(message_id).status
    except TelegramNotConfigured as error:
        logger.warning("Telegram delivery of message %s skipped: %s", message_id, error)
        return "not_configured"
    except DeliveryInProgress as waiting:
        # Still queued behind a flood wait (or held by another worker): not a failure.
        raise RetryLater(
            "telegram_in_progress", str(waiting), delay=waiting.retry_in, counts=False
        ) from waiting
    except DeliveryFailed as error:
        raise RetryLater("telegram_failed", str(error)) from error


def on_message_translated(message_id: int, language: str) -> None:
    """A translation is done: if the buyer already has the original in Telegram, edit the
    translation in (off this thread: a Celery task, inline in eager mode)."""
    from bots.models import TelegramDelivery

    if (
        TelegramDelivery.objects.filter(message_id=message_id, status="sent")
        .exclude(shown_language=language)
        .exists()
    ):
        from bots.tasks import show_translation_on_telegram

        show_translation_on_telegram.delay(message_id, language)


def card_changed_applies(message: Message) -> bool:
    from bots.bridge import card_was_delivered

    return card_was_delivered(message)


def refresh_card_on_telegram(message_id: int) -> str:
    """A card changed after it reached the buyer's Telegram chat: edit it there too (an
    ``on_change`` follow-up: durable, retried, idempotent)."""
    from bots.bridge import refresh_card
    from bots.telegram.client import TelegramNotConfigured

    try:
        return refresh_card(message_id)
    except TelegramNotConfigured:
        return "not_configured"
