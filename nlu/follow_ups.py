"""The assistant's hook on ``post_message``: a buyer's message it may answer → a Celery task."""

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
    from nlu.models import BotConversationState

    handed_over = BotConversationState.objects.filter(
        conversation_id=conversation.pk, handed_over_at__isnull=False, handed_back_at__isnull=True
    ).exists()
    if conversation.bot_active or handed_over:
        from nlu.tasks import reply_as_bot

        reply_as_bot.delay(message.pk)
