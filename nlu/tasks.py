"""The assistant's Celery tasks."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def reply_as_bot(message_id: int) -> int:
    """Compute and post the shop bot's replies to one buyer message."""
    from nlu.dialogue import reply_to_message

    return len(reply_to_message(message_id))
