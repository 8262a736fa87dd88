"""The follow-up outbox: follow-ups are stored with their message and survive failures.

SQLite and inline Celery; the real worker, kill -9 and parallel sweepers on PostgreSQL are
in ``tests/integration/test_follow_up_outbox.py``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from conversations import message_translation, outbox
from conversations.models import (
    FollowUpEntry,
    FollowUpStatus,
    Message,
    MessageTranslation,
    NotificationSettings,
    TranslationStatus,
)
from conversations.services import HubError, edit_message, post_message, start_conversation
from tests.conftest import make_user
from tests.standins.deepl_server import DeepLStandIn

KEY = "outbox-test-key:fx"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def deepl_api(settings):
    with DeepLStandIn(auth_key=KEY) as api:
        settings.DEEPL_AUTH_KEY = KEY
        settings.DEEPL_SERVER_URL = api.url
        settings.DEEPL_TIMEOUT = 2.0
        settings.DEEPL_MAX_RETRIES = 0
        yield api


@pytest.fixture
def fast_outbox(settings):
    """No waiting between attempts, so a test can sweep again at once."""
    settings.FOLLOW_UP_GRACE_SECONDS = 0
    settings.FOLLOW_UP_RETRY_BASE_SECONDS = 0
    settings.FOLLOW_UP_MAX_ATTEMPTS = 3
    return settings


@pytest.fixture
def lea_and_jonas():
    lea = make_user("lea@example.fr", preferred_language="fr", display_name="Léa")
    jonas = make_user(
        "jonas@example.de", role="artisan", preferred_language="de", display_name="Jonas"
    )
    return lea, jonas, start_conversation(buyer=lea, artisan=jonas, subject="Teppich")


def say(conversation, author, text="Bonjour") -> Message:
    return post_message(conversation=conversation, author=author, text=text, language="fr").message


def entry_of(message: Message, name: str = "translation") -> FollowUpEntry:
    return FollowUpEntry.objects.get(message=message, name=name)


def make_due(entry: FollowUpEntry) -> None:
    """The grace period, backoff or lease of the entry has passed."""
    FollowUpEntry.objects.filter(pk=entry.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


class FailingOnce:
    """Raise a database error the first ``times`` calls, then behave like ``real``."""

    def __init__(self, real, times: int = 1) -> None:
        self.real, self.times, self.calls = real, times, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls <= self.times:
            raise OperationalError("could not serialize access (injected)")
        return self.real(*args, **kwargs)


def test_follow_ups_are_stored_with_the_message_and_run_on_commit(deepl_api, lea_and_jonas):
    lea, _jonas, conversation = lea_and_jonas

    message = say(conversation, lea)

    entry = entry_of(message)
    assert entry.status == FollowUpStatus.DONE
    assert entry.attempts == 1
    assert MessageTranslation.objects.get(message=message).status == TranslationStatus.DONE
    # nothing else applied to a buyer's message in a conversation without bot or Telegram
    assert list(FollowUpEntry.objects.values_list("name", flat=True)) == ["translation"]


def test_a_rolled_back_message_leaves_no_follow_up(deepl_api, lea_and_jonas):
    lea, _jonas, conversation = lea_and_jonas

    with pytest.raises(HubError):
        # an unknown attachment fails inside the message's transaction
        post_message(conversation=conversation, author=lea, text="Photo", attachment_ids=[999])

    assert not Message.objects.exists()
    assert not FollowUpEntry.objects.exists()


def test_a_database_error_in_the_follow_up_is_retried_by_the_sweeper_exactly_once(
    deepl_api, lea_and_jonas, fast_outbox, monkeypatch
):
    lea, _jonas, conversation = lea_and_jonas
    failing = FailingOnce(message_translation.plan_translations)
    monkeypatch.setattr(message_translation, "plan_translations", failing)

    message = say(conversation, lea)

    entry = entry_of(message)
    assert entry.status == FollowUpStatus.PENDING
    assert entry.attempts == 1
    assert entry.last_error_code == "OperationalError"
    assert "injected" in entry.last_error
    assert not MessageTranslation.objects.exists()

    assert outbox.sweep_due() == [entry.pk]
    assert outbox.sweep_due() == []  # nothing left to do

    entry.refresh_from_db()
    assert entry.status == FollowUpStatus.DONE
    assert entry.attempts == 2
    row = MessageTranslation.objects.get(message=message)
    assert row.status == TranslationStatus.DONE
    assert len(deepl_api.translate_calls) == 1


def test_a_lost_publish_is_published_by_the_sweeper_after_the_grace_period(
    deepl_api, lea_and_jonas, settings, monkeypatch
):
    lea, _jonas, conversation = lea_and_jonas
    settings.FOLLOW_UP_GRACE_SECONDS = 60
    real_publish = outbox._publish_one
    monkeypatch.setattr(outbox, "_publish_one", FailingOnce(real_publish))

    message = say(conversation, lea)

    entry = entry_of(message)
    assert entry.status == FollowUpStatus.PENDING
    assert entry.attempts == 0
    assert outbox.sweep_due() == []  # still inside its grace period

    make_due(entry)
    assert outbox.sweep_due() == [entry.pk]

    entry.refresh_from_db()
    assert entry.status == FollowUpStatus.DONE
    assert MessageTranslation.objects.get(message=message).status == TranslationStatus.DONE
    assert len(deepl_api.translate_calls) == 1


def test_running_an_entry_twice_does_the_work_once(deepl_api, lea_and_jonas):
    lea, _jonas, conversation = lea_and_jonas
    message = say(conversation, lea)
    entry = entry_of(message)

    assert outbox.run_entry(entry.pk) == "skipped"
    # even if the entry were taken again (a duplicate publish racing a requeue), the
    # translation is stored once and the provider is not asked twice
    FollowUpEntry.objects.filter(pk=entry.pk).update(status=FollowUpStatus.ENQUEUED)
    assert outbox.run_entry(entry.pk) == FollowUpStatus.DONE

    assert MessageTranslation.objects.filter(message=message).count() == 1
    assert len(deepl_api.translate_calls) == 1


def test_a_follow_up_that_keeps_failing_ends_dead_with_backoff_in_between(
    deepl_api, lea_and_jonas, settings, monkeypatch
):
    lea, _jonas, conversation = lea_and_jonas
    settings.FOLLOW_UP_RETRY_BASE_SECONDS = 30
    settings.FOLLOW_UP_RETRY_MAX_SECONDS = 50
    settings.FOLLOW_UP_MAX_ATTEMPTS = 3
    monkeypatch.setattr(
        message_translation, "plan_translations", FailingOnce(lambda m: [], times=99)
    )

    message = say(conversation, lea)
    entry = entry_of(message)
    waits = []
    for _attempt in range(2):
        entry.refresh_from_db()
        assert entry.status == FollowUpStatus.PENDING
        waits.append(round((entry.next_attempt_at - timezone.now()).total_seconds()))
        make_due(entry)
        outbox.sweep_due()

    entry.refresh_from_db()
    assert waits == [30, 50]  # 30 s, then doubled but capped at 50 s
    assert entry.status == FollowUpStatus.DEAD
    assert entry.attempts == 3
    assert entry.last_error_code == "OperationalError"
    make_due(entry)
    assert outbox.sweep_due() == []  # the dead are not swept


def test_dead_follow_ups_are_listed_in_the_admin_and_retry_requeues_them(
    deepl_api, lea_and_jonas, fast_outbox, monkeypatch, admin_client
):
    lea, _jonas, conversation = lea_and_jonas
    failing = FailingOnce(message_translation.plan_translations, times=3)
    monkeypatch.setattr(message_translation, "plan_translations", failing)
    message = say(conversation, lea)
    entry = entry_of(message)
    outbox.sweep_due()
    outbox.sweep_due()
    entry.refresh_from_db()
    assert entry.status == FollowUpStatus.DEAD

    changelist = reverse("admin:conversations_followupentry_changelist")
    listed = admin_client.get(changelist, {"status__exact": "dead"})
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 1
    assert list(listed.context["cl"].result_list) == [entry]
    assert "OperationalError" in listed.content.decode()
    assert admin_client.get(changelist, {"status__exact": "done"}).context["cl"].result_count == 0

    # the cause is fixed (the fourth call works) and the admin presses "Retry"
    response = admin_client.post(
        changelist, {"action": "retry", "_selected_action": [entry.pk]}, follow=True
    )

    assert response.status_code == 200
    assert "1 follow-up queued again." in response.content.decode()
    entry.refresh_from_db()
    assert entry.status == FollowUpStatus.DONE
    assert entry.attempts == 1  # a fresh set of attempts
    assert MessageTranslation.objects.get(message=message).status == TranslationStatus.DONE
    assert len(deepl_api.translate_calls) == 1


def test_retry_leaves_done_entries_alone(deepl_api, lea_and_jonas):
    lea, _jonas, conversation = lea_and_jonas
    entry = entry_of(say(conversation, lea))

    assert outbox.retry_follow_ups(entry_ids=[entry.pk]) == 0
    entry.refresh_from_db()
    assert entry.status == FollowUpStatus.DONE
    assert len(deepl_api.translate_calls) == 1


def test_a_worker_lost_mid_task_is_retried_after_its_lease_and_buried_when_exhausted(
    deepl_api, lea_and_jonas, settings
):
    lea, _jonas, conversation = lea_and_jonas
    settings.FOLLOW_UP_MAX_ATTEMPTS = 2
    first, second = say(conversation, lea, "Bonjour"), say(conversation, lea, "Merci")
    # as a worker killed mid-task leaves them: running, lease expired
    FollowUpEntry.objects.filter(message=first).update(status=FollowUpStatus.RUNNING, attempts=1)
    FollowUpEntry.objects.filter(message=second).update(status=FollowUpStatus.RUNNING, attempts=2)
    MessageTranslation.objects.all().delete()
    for entry in FollowUpEntry.objects.all():
        make_due(entry)

    assert outbox.sweep_due() == [entry_of(first).pk]

    assert entry_of(first).status == FollowUpStatus.DONE
    assert MessageTranslation.objects.get(message=first).status == TranslationStatus.DONE
    buried = entry_of(second)
    assert buried.status == FollowUpStatus.DEAD
    assert buried.last_error_code == "worker_lost"


def test_a_running_entry_under_a_live_lease_is_not_taken_twice(deepl_api, lea_and_jonas):
    lea, _jonas, conversation = lea_and_jonas
    entry = entry_of(say(conversation, lea))
    FollowUpEntry.objects.filter(pk=entry.pk).update(
        status=FollowUpStatus.RUNNING, next_attempt_at=timezone.now() + timedelta(minutes=5)
    )

    assert outbox.run_entry(entry.pk) == "skipped"
    assert outbox.sweep_due() == []


def test_an_edit_translates_the_new_text_through_the_same_entry(deepl_api, lea_and_jonas):
    lea, _jonas, conversation = lea_and_jonas
    message = say(conversation, lea, "Bonjour")

    edit_message(message=message, editor=lea, text="Bonsoir")

    entry = entry_of(message)
    assert entry.status == FollowUpStatus.DONE
    row = MessageTranslation.objects.get(message=message)
    assert row.status == TranslationStatus.DONE
    assert "Bonsoir" in row.text
    assert len(deepl_api.translate_calls) == 2


def test_a_translation_whose_done_mark_was_lost_is_not_sent_to_the_provider_again(
    deepl_api, lea_and_jonas, fast_outbox, monkeypatch
):
    lea, _jonas, conversation = lea_and_jonas
    # the translation is stored, then the database fails before the entry is marked done
    monkeypatch.setattr(outbox, "_mark_done", FailingOnce(outbox._mark_done))

    message = say(conversation, lea)

    # the entry stays taken until its lease runs out, as after a worker crash
    entry = entry_of(message)
    assert entry.status == FollowUpStatus.RUNNING
    assert MessageTranslation.objects.get(message=message).status == TranslationStatus.DONE
    assert outbox.sweep_due() == []

    make_due(entry)
    assert outbox.sweep_due() == [entry.pk]

    assert entry_of(message).status == FollowUpStatus.DONE
    assert MessageTranslation.objects.filter(message=message).count() == 1
    assert len(deepl_api.translate_calls) == 1


def test_the_away_reply_rolled_back_by_a_failed_done_mark_is_posted_once_later(
    deepl_api, lea_and_jonas, fast_outbox, monkeypatch
):
    lea, jonas, conversation = lea_and_jonas
    NotificationSettings.objects.create(user=jonas, away_enabled=True, usual_response_hours=6)
    real_mark_done = outbox._mark_done
    calls = []

    def fail_for_away(entry_id, attempt):
        name = FollowUpEntry.objects.get(pk=entry_id).name
        calls.append(name)
        if name == "away_reply" and calls.count("away_reply") == 1:
            raise OperationalError("connection lost (injected)")
        return real_mark_done(entry_id, attempt)

    monkeypatch.setattr(outbox, "_mark_done", fail_for_away)

    message = say(conversation, lea)

    away = entry_of(message, "away_reply")
    assert away.status == FollowUpStatus.PENDING
    assert away.last_error_code == "OperationalError"
    notes = Message.objects.filter(conversation=conversation, payload__away=True)
    assert notes.count() == 0  # rolled back with the failed done mark

    outbox.sweep_due()

    assert entry_of(message, "away_reply").status == FollowUpStatus.DONE
    assert notes.count() == 1


def test_backoff_doubles_and_is_capped(settings):
    settings.FOLLOW_UP_RETRY_BASE_SECONDS = 30
    settings.FOLLOW_UP_RETRY_MAX_SECONDS = 3600

    waits = [outbox.retry_backoff(n).total_seconds() for n in (1, 2, 3, 8, 20)]

    assert waits == [30, 60, 120, 3600, 3600]


def test_a_follow_up_can_be_routed_to_its_own_queue(lea_and_jonas, settings, monkeypatch):
    lea, _jonas, conversation = lea_and_jonas
    settings.FOLLOW_UP_QUEUES = {"translation": "translations"}
    from conversations import tasks

    sent = []
    monkeypatch.setattr(
        tasks.run_follow_up, "apply_async", lambda args, **options: sent.append((args, options))
    )

    message = say(conversation, lea)

    entry = entry_of(message)
    assert sent == [([entry.pk], {"queue": "translations"})]
    assert entry.status == FollowUpStatus.ENQUEUED
