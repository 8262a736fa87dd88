"""Hooks the bot layer adds to ``post_message`` (run after each message commits)."""

from __future__ import annotations

from conversations.models import Message, MessageKind


def enqueue_bot_reply(message: Message) -> None:
    """A buyer's message in a conversation the bot may answer → compute replies in Celery.

    Cheap pre-check only; the task decides (handover, idle reactivation) with fresh data.
    """
    conversation = message.conversation
    if message.author_id is None or message.author_id != conversation.buyer_id:
        return
    if message.kind not in (MessageKind.TEXT, MessageKind.IMAGE):
        return
    from bots.models import BotConversationState

    handed_over = BotConversationState.objects.filter(
        conversation_id=conversation.pk, handed_over_at__isnull=False, handed_back_at__isnull=True
    ).exists()
    if conversation.bot_active or handed_over:
        from bots.tasks import reply_as_bot

        reply_as_bot.delay(message.pk)


def enqueue_telegram_delivery(message: Message) -> None:
    """Anything not written by the buyer, in a conversation whose buyer uses Telegram."""
    if message.author_id is not None and message.author_id == message.conversation.buyer_id:
        return
    from bots.bridge import recipient_account

    if recipient_account(message) is None:
        return
    from bots.tasks import deliver_to_telegram

    deliver_to_telegram.delay(message.pk)
