"""Celery application. Eager (inline) when no broker is configured; see settings."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")

app = Celery("atelier")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Static schedule; django-celery-beat's DatabaseScheduler also lets admins add entries.
app.conf.beat_schedule = {
    "purge-expired-chat-content": {
        "task": "conversations.tasks.purge_expired_chat_content",
        "schedule": crontab(hour=3, minute=17),
    },
    "expire-stale-offers": {
        "task": "commerce.expire_stale_offers",
        "schedule": 300.0,
    },
    "prune-telegram-updates": {
        "task": "bots.tasks.prune_processed_updates",
        "schedule": crontab(hour=4, minute=7),
    },
    "sweep-follow-ups": {
        "task": "conversations.tasks.sweep_follow_ups",
        "schedule": 30.0,
    },
    "send-unread-notifications": {
        "task": "conversations.tasks.send_unread_notifications",
        "schedule": 60.0,
    },
}
