"""Celery tasks of the bot layer: thin wrappers (retry policy lives here)."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=5)
def deliver_to_telegram(self, message_id: int) -> str:
    """Before the outbox: tasks of this name still in a broker at upgrade time (new
    deliveries are ``telegram_delivery`` outbox entries, see ``bots.follow_ups``).

    The outbox itself retries 429/5xx/network errors (honouring ``retry_after``) before
    reporting; a sender that cannot start (no token) is logged, not retried.
    """
    from bots.bridge import DeliveryFailed, DeliveryInProgress, deliver_message
    from bots.telegram.client import TelegramNotConfigured

    try:
        return deliver_message(message_id).status
    except TelegramNotConfigured as error:
        logger.warning("Telegram delivery of message %s skipped: %s", message_id, error)
        return "not_configured"
    except (DeliveryInProgress, DeliveryFailed) as error:
        if self.request.is_eager:
            raise
        raise self.retry(countdown=30 * (self.request.retries + 1)) from error


@shared_task(acks_late=True, ignore_result=True)
def show_translation_on_telegram(message_id: int, language: str) -> str:
    """Edit a finished translation into a message the buyer got in the original."""
    from bots.bridge import show_translation
    from bots.telegram.client import TelegramNotConfigured

    try:
        return show_translation(message_id, language)
    except TelegramNotConfigured:
        return "not_configured"
    except TimeoutError:
        logger.warning("translation of message %s not edited in: Telegram timed out", message_id)
        return "timeout"


@shared_task(acks_late=True)
def prune_processed_updates() -> int:
    from bots.services import prune_processed_updates as prune

    return prune()
