"""Hooks the bot layer adds to ``post_message`` (run after each message commits)."""

from __future__ import annotations

from conversations.models import Message


def enqueue_telegram_delivery(message: Message) -> None:
    """Anything not written by the buyer, in a conversation whose buyer uses Telegram."""
    if message.author_id is not None and message.author_id == message.conversation.buyer_id:
        return
    from bots.bridge import recipient_account

    if recipient_account(message) is None:
        return
    from bots.tasks import deliver_to_telegram

    deliver_to_telegram.delay(message.pk)
