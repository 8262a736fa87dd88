"""Changes to messages already sent, counted per conversation so nothing is missed offline.

New messages carry a gapless ``seq``; a change to one already sent (an edit, a card's new
state, a moderator's hide or unhide, a translation arriving) gets the conversation's next
``update_seq``. A client subscribing with ``after_update_seq`` (the ``update_seq`` of its
last ``subscribed`` frame) gets every message changed since as ``message.updated`` with
``"replay": true`` (docs/protocol.md), just as ``after_seq`` replays the messages it missed.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from conversations import outbox
from conversations.models import Conversation, Message


def mark_changed(message: Message) -> int:
    """Stamp a change to ``message`` with its conversation's next ``update_seq`` (in the
    caller's transaction; the row lock orders concurrent changes). Returns the new value."""
    with transaction.atomic():
        Conversation.objects.filter(pk=message.conversation_id).update(
            last_update_seq=F("last_update_seq") + 1
        )
        update_seq = (
            Conversation.objects.filter(pk=message.conversation_id)
            .values_list("last_update_seq", flat=True)
            .get()
        )
        Message.objects.filter(pk=message.pk).update(update_seq=update_seq)
        # Work other apps owe a changed message (e.g. edit its Telegram copy) commits with it.
        outbox.record_change_follow_ups(message=message)
    message.update_seq = update_seq
    return update_seq
