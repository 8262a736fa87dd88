"""Scheduled housekeeping (Celery beat)."""

from celery import shared_task
from django.conf import settings


@shared_task(acks_late=True)
def purge_expired_chat_content() -> int:
    """GDPR retention: blank chat content of conversations closed long ago."""
    from conversations.services import purge_closed_conversation_content

    return purge_closed_conversation_content(older_than_days=settings.CHAT_RETENTION_DAYS)
