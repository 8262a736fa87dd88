"""Offline notifications: one per burst, after the delay, respecting preferences and quiet hours."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from conversations import notifications
from conversations.models import Message, NotificationSettings, Participant
from conversations.services import mark_read, post_message

pytestmark = pytest.mark.django_db


def _age_messages(conversation, minutes: int) -> None:
    Message.objects.filter(conversation=conversation).update(
        created_at=timezone.now() - timedelta(minutes=minutes)
    )


def test_one_email_per_burst_with_a_link_back(conversation, buyer, artisan, settings):
    settings.NOTIFY_AFTER_MINUTES = 5
    for text in ("Hola", "¿Sigues ahí?", "Tengo una pregunta"):
        post_message(conversation=conversation, author=artisan, text=text)
    # fresh burst: nothing yet
    assert notifications.send_due_notifications() == 0
    _age_messages(conversation, 6)
    assert notifications.send_due_notifications() == 1
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [buyer.email]
    assert "3 unread messages" in email.subject
    assert f"/messages/{conversation.pk}/" in email.body
    assert "Tengo una pregunta" in email.body
    # the same burst is never notified twice
    assert notifications.send_due_notifications() == 0
    assert len(mail.outbox) == 1
    # a new message later starts a new burst
    post_message(conversation=conversation, author=artisan, text="¿Hola?")
    _age_messages(conversation, 6)
    assert notifications.send_due_notifications() == 1
    assert len(mail.outbox) == 2


def test_read_messages_and_own_messages_do_not_notify(conversation, buyer, artisan):
    post_message(conversation=conversation, author=artisan, text="Hola")
    conversation.refresh_from_db()
    mark_read(conversation=conversation, user=buyer, seq=1)
    post_message(conversation=conversation, author=buyer, text="Gracias")
    _age_messages(conversation, 60)
    notifications.send_due_notifications()
    # the buyer read the artisan's message and wrote the last one: only the artisan hears
    assert [m.to for m in mail.outbox] == [[artisan.email]]


def test_preferences_and_quiet_hours(conversation, buyer, artisan):
    post_message(conversation=conversation, author=artisan, text="Hola")
    _age_messages(conversation, 60)
    prefs = NotificationSettings.objects.create(user=buyer, email_enabled=True)
    now = timezone.now()
    prefs.quiet_start = (now - timedelta(hours=1)).time()
    prefs.quiet_end = (now + timedelta(hours=1)).time()
    prefs.save()
    assert notifications.send_due_notifications(now=now) == 0
    assert Participant.objects.get(user=buyer, conversation=conversation).last_notified_seq == 0
    prefs.quiet_start = prefs.quiet_end = None
    prefs.email_enabled = False
    prefs.save()
    notifications.send_due_notifications(now=now)
    assert mail.outbox == []


def test_quiet_hours_span_midnight(buyer):
    prefs = NotificationSettings(user=buyer, quiet_start=time(22, 0), quiet_end=time(7, 0))
    buyer.time_zone = "UTC"
    late = timezone.now().replace(hour=23, minute=30)
    noon = timezone.now().replace(hour=12, minute=0)
    assert notifications.in_quiet_hours(prefs, buyer, late)
    assert not notifications.in_quiet_hours(prefs, buyer, noon)


def test_registered_notifier_is_called(conversation, buyer, artisan):
    calls = []
    notifications.register_notifier(
        "test", lambda user, p, msgs, link: calls.append((user, len(msgs), link)) or True
    )
    try:
        post_message(conversation=conversation, author=artisan, text="Hola")
        _age_messages(conversation, 60)
        notifications.send_due_notifications()
    finally:
        notifications._notifiers.pop("test")
    assert calls == [(buyer, 1, f"http://127.0.0.1:8000/messages/{conversation.pk}/")]


@pytest.mark.django_db(transaction=True)
def test_away_auto_reply_tells_the_buyer_when_to_expect_an_answer(conversation, buyer, artisan):
    NotificationSettings.objects.create(
        user=artisan,
        away_enabled=True,
        away_message="At the kiln this week.",
        usual_response_hours=48,
    )
    post_message(conversation=conversation, author=buyer, text="Hello?")
    post_message(conversation=conversation, author=buyer, text="Anyone?")
    replies = list(Message.objects.filter(conversation=conversation, kind="system"))
    assert len(replies) == 1  # once per 12 hours, not per message
    assert "At the kiln this week." in replies[0].text
    assert "48 hours" in replies[0].text
