"""Celery application. Eager (inline) when no broker is configured; see settings."""

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")

app = Celery("atelier")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _bind_task_to_logs(task_id=None, task=None, **_kwargs) -> None:
    """Every log line a task writes carries its task id and name (core/logs.py)."""
    from core.logs import bind_task

    bind_task(task_id=task_id, task_name=getattr(task, "name", None))


@task_postrun.connect
def _unbind_task_from_logs(task_id=None, **_kwargs) -> None:
    from core.logs import unbind_task

    unbind_task(task_id=task_id)


# Static schedule; django-celery-beat's DatabaseScheduler also lets admins add entries.
app.conf.beat_schedule = {
    "resume-paused-translations": {
        "task": "conversations.tasks.resume_paused_translations",
        "schedule": 3600.0,
    },
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
    "start-due-campaigns": {
        "task": "commerce.start_due_campaigns",
        "schedule": 60.0,
    },
    "pick-due-ab-winners": {
        "task": "commerce.pick_due_ab_winners",
        "schedule": 60.0,
    },
    "resume-sending-campaigns": {
        "task": "commerce.resume_sending_campaigns",
        "schedule": 300.0,
    },
    "sweep-listing-translations": {
        "task": "commerce.sweep_listing_translations",
        "schedule": 60.0,
    },
    "send-unread-notifications": {
        "task": "conversations.tasks.send_unread_notifications",
        "schedule": 60.0,
    },
}
