"""The hub's own follow-ups of a committed message: translations and the away auto-reply."""

from __future__ import annotations

from conversations import message_translation
from conversations.models import Message, MessageKind, NotificationSettings
from conversations.outbox import RetryLater

AWAY_REPLY_KINDS = {MessageKind.TEXT, MessageKind.IMAGE}


def needs_translation(message: Message) -> bool:
    if message.kind not in message_translation.TRANSLATABLE_KINDS or not (
        message_translation.translatable_text(message)
    ):
        return False
    # The send path knows who reads it: nothing to do when every reader shares the
    # message's (detected) language. Unknown readers or an undetected language: plan it.
    readers = getattr(message, "reader_languages", None)
    return readers is None or not message_translation.all_read_in(message.language, readers)


def translate(message_id: int) -> int:
    """Plan and fill the message's translations. Idempotent: one row per (message,
    language), and only rows still pending are sent to the provider."""
    message = Message.objects.filter(pk=message_id).first()
    if message is None:
        return 0
    message_translation.plan_translations(message)
    outcome = message_translation.translate_pending(message_id)
    if outcome.retry_later and _inline_in_the_foreground():
        # Eager Celery without the background pool (the suite) has no beat and no timer to
        # come back later: try once more now.
        outcome = message_translation.translate_pending(message_id)
    if outcome.retry_later:
        raise RetryLater(
            "translation_retry_later",
            "The translation provider asked us to wait.",
            delay=outcome.retry_in,
        )
    return outcome.done


def _inline_in_the_foreground() -> bool:
    from conversations import inline_worker
    from core.celery import app

    return bool(app.conf.task_always_eager) and not inline_worker.enabled()


def may_need_away_reply(message: Message) -> bool:
    """A buyer's message to an artisan who turned the away reply on (fresh check at run)."""
    conversation = message.conversation
    if message.kind not in AWAY_REPLY_KINDS or message.author_id is None:
        return False
    if conversation.artisan_id is None or message.author_id != conversation.buyer_id:
        return False
    known = getattr(message, "artisan_away", None)  # read by the send path's write
    if known is not None:
        return known
    return NotificationSettings.objects.filter(
        user_id=conversation.artisan_id, away_enabled=True
    ).exists()


def away_reply(message_id: int) -> bool:
    """Posts at most one away note per 12 hours; runs in one transaction with the outbox
    entry's done mark, so a retry after a crash never posts a second note."""
    from conversations.away import reply_if_away

    return reply_if_away(message_id)
