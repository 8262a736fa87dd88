"""Offline notifications: one per burst, not one per message.

A participant is notified when messages addressed to them stay unread for
``NOTIFY_AFTER_MINUTES``; one notification covers every unread message up to that
moment (``last_notified_seq``), and the next one needs new messages. Quiet hours (in the
person's time zone) postpone it. Channels: email, and any registered notifier (Telegram,
once a person linked their account).
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from conversations.models import Message, NotificationSettings, Participant
from core.models import User

logger = logging.getLogger(__name__)

Notifier = Callable[[User, Participant, list[Message], str], bool]
_notifiers: dict[str, Notifier] = {}


def register_notifier(name: str, notifier: Notifier) -> None:
    """``notifier(user, participant, messages, link) -> sent?``; e.g. the Telegram bridge."""
    _notifiers[name] = notifier


def settings_for(user: User) -> NotificationSettings:
    prefs, _ = NotificationSettings.objects.get_or_create(user=user)
    return prefs


def in_quiet_hours(prefs: NotificationSettings, user: User, now: datetime) -> bool:
    if prefs.quiet_start is None or prefs.quiet_end is None:
        return False
    try:
        local = now.astimezone(zoneinfo.ZoneInfo(user.time_zone or "UTC")).time()
    except zoneinfo.ZoneInfoNotFoundError:
        local = now.time()
    start, end = prefs.quiet_start, prefs.quiet_end
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # spans midnight


def conversation_link(participant: Participant) -> str:
    # URL names, not imports: the pages belong to webchat, above the hub.
    name = (
        "webchat:inbox_conversation"
        if participant.role == "artisan"
        else "webchat:messages_conversation"
    )
    return settings.SITE_URL + reverse(name, args=[participant.conversation_id])


def _send_email(user: User, participant: Participant, messages: list[Message], link: str) -> bool:
    if user.is_guest or not user.email or user.email.endswith(".invalid"):
        return False
    with translation.override(user.preferred_language or "en"):
        context = {"user": user, "messages": messages, "link": link, "count": len(messages)}
        subject = render_to_string("conversations/email/unread_subject.txt", context).strip()
        body = render_to_string("conversations/email/unread.txt", context)
    send_mail(subject, body, None, [user.email])
    return True


def send_due_notifications(*, now: datetime | None = None) -> int:
    """Notify every participant with a burst of unread messages older than the delay."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.NOTIFY_AFTER_MINUTES)
    sent = 0
    candidates = (
        Participant.objects.select_related("user", "conversation")
        .filter(
            muted=False,
            user__is_active=True,
            user__suspended_at__isnull=True,
            conversation__last_seq__gt=F("last_read_seq"),
        )
        .exclude(  # a thread the artisan cannot see yet (no message, no card) is not news
            conversation__artisan=F("user"), conversation__surfaced_at__isnull=True
        )
    )
    for participant in candidates:
        floor = max(participant.last_read_seq, participant.last_notified_seq)
        unread = list(
            Message.objects.filter(
                conversation_id=participant.conversation_id, seq__gt=floor, hidden_at__isnull=True
            )
            .exclude(author_id=participant.user_id)
            .select_related("author")
            .order_by("seq")
        )
        if not unread or unread[0].created_at > cutoff:
            continue  # nothing new, or the burst is still fresh: they may read it now
        prefs = settings_for(participant.user)
        if in_quiet_hours(prefs, participant.user, now):
            continue
        link = conversation_link(participant)
        delivered = False
        if prefs.email_enabled:
            delivered |= _send_email(participant.user, participant, unread, link)
        if prefs.telegram_enabled:
            for name, notifier in _notifiers.items():
                try:
                    delivered |= bool(notifier(participant.user, participant, unread, link))
                except Exception:
                    logger.exception("Notifier %s failed", name)
        with transaction.atomic():
            Participant.objects.filter(pk=participant.pk).update(
                last_notified_seq=max(m.seq for m in unread)
            )
        sent += int(delivered)
    return sent
