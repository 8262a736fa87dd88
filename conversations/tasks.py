"""Celery tasks of the hub: thin wrappers around services (retry policy lives here)."""

from __future__ import annotations

import logging

from celery import shared_task

from conversations import message_translation, notifications
from conversations.translation.backoff import retry_delay

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=6, acks_late=True)
def translate_message(self, message_id: int) -> int:
    """Fill the pending translations of a message; retry later on 429/5xx/timeouts."""
    outcome = message_translation.translate_pending(message_id)
    if outcome.retry_later:
        if self.request.is_eager:
            # Inline mode (make run, most tests) has no scheduler: try once more, then stop.
            if self.request.retries < 1:
                return translate_message.apply(args=[message_id], retries=1).get()
            return outcome.done
        raise self.retry(countdown=retry_delay(self.request.retries + 1))
    return outcome.done


@shared_task(acks_late=True)
def send_unread_notifications() -> int:
    """Beat: every minute, notify people with a burst of unread messages."""
    return notifications.send_due_notifications()


@shared_task(acks_late=True)
def send_away_reply(message_id: int) -> bool:
    from conversations.away import reply_if_away

    return reply_if_away(message_id)
