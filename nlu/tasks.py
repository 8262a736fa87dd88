"""The assistant's Celery tasks."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def reply_as_bot(message_id: int) -> int:
    """Before the outbox: tasks of this name still in a broker at upgrade time (new
    replies are ``bot_reply`` outbox entries, see ``nlu.follow_ups``)."""
    from nlu.dialogue import reply_to_message

    return len(reply_to_message(message_id))
