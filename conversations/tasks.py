"""Celery tasks of the hub: thin wrappers around services (retry policy lives here)."""

from __future__ import annotations

import logging

from celery import shared_task

from conversations import notifications
from conversations.translation.backoff import retry_delay

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=6, acks_late=True)
def translate_message(self, message_id: int) -> int:
    """Before the outbox: tasks of this name still in a broker at upgrade time. Runs the
    translation follow-up; a provider that asks to wait is retried by Celery on a worker
    and, in eager mode, left pending (never a nested ``.get()`` inside a task)."""
    from conversations import follow_ups
    from conversations.outbox import RetryLater

    try:
        return follow_ups.translate(message_id)
    except RetryLater as later:
        if self.request.is_eager:
            logger.warning("translation of message %s left pending (eager mode)", message_id)
            return 0
        raise self.retry(countdown=later.delay or retry_delay(self.request.retries + 1)) from None


@shared_task(acks_late=True, ignore_result=True)
def resume_paused_translations() -> int:
    """Beat: paused message translations go again once the budget or quota allows."""
    from conversations.message_translation import resume_paused_translations as resume

    return resume()


@shared_task(acks_late=True, ignore_result=True)
def run_follow_up(entry_id: int) -> str:
    """One outbox entry (``conversations.outbox``): claim it, run its follow-up, record."""
    from conversations.outbox import run_entry

    return run_entry(entry_id)


@shared_task(acks_late=True, ignore_result=True)
def sweep_follow_ups() -> int:
    """Beat: publish again the follow-ups still not done after their grace/lease/backoff."""
    from conversations.outbox import sweep_due

    return len(sweep_due())


@shared_task(acks_late=True)
def after_message(message_id: int) -> None:
    """Before the outbox: tasks of this name still in a broker at upgrade time. New
    messages get outbox entries instead; this runs the same idempotent follow-ups inline."""
    from conversations import follow_ups
    from conversations.outbox import RetryLater

    try:
        follow_ups.translate(message_id)
    except RetryLater:
        logger.warning(
            "translation of message %s left pending (provider asked to wait)", message_id
        )
    follow_ups.away_reply(message_id)


@shared_task(acks_late=True)
def send_unread_notifications() -> int:
    """Beat: every minute, notify people with a burst of unread messages."""
    return notifications.send_due_notifications()


@shared_task(acks_late=True)
def sync_glossaries() -> int:
    """Upload changed glossary terms to DeepL (admin action "Sync to DeepL", or beat)."""
    from conversations.glossary import sync_glossaries as sync
    from conversations.translation.types import TranslationNotConfigured

    try:
        outcomes = sync()
    except TranslationNotConfigured:
        logger.info("glossary sync skipped: DeepL is not configured")
        return 0
    return sum(1 for outcome in outcomes if outcome.uploaded)


@shared_task(acks_late=True, ignore_result=True)
def purge_expired_chat_content() -> int:
    """GDPR retention (Celery beat): blank chat content of conversations closed long ago."""
    from django.conf import settings

    from conversations.services import purge_closed_conversation_content

    return purge_closed_conversation_content(older_than_days=settings.CHAT_RETENTION_DAYS)
