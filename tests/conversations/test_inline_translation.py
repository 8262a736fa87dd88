"""Inline translation through the hub with the real deepl library against the stand-in:
a French buyer and a German artisan each read the other in their own language."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from conversations.models import MessageTranslation, TranslationStatus, TranslationUsage
from conversations.services import post_message, start_conversation
from tests.conftest import make_user
from tests.conversations.conftest import connect, receive_type, receive_until, ws_client
from tests.standins.deepl_server import DeepLStandIn

KEY = "atelier-test-key:fx"


@pytest.fixture
def deepl_api(settings):
    with DeepLStandIn(auth_key=KEY) as api:
        settings.DEEPL_AUTH_KEY = KEY
        settings.DEEPL_SERVER_URL = api.url
        settings.DEEPL_TIMEOUT = 2.0
        settings.DEEPL_MAX_RETRIES = 0
        yield api


@pytest.fixture
def lea_and_jonas(transactional_db):
    lea = make_user("lea@example.fr", preferred_language="fr", display_name="Léa")
    jonas = make_user(
        "jonas@example.de", role="artisan", preferred_language="de", display_name="Jonas"
    )
    return lea, jonas, start_conversation(buyer=lea, artisan=jonas, subject="Teppich")


@pytest.mark.django_db(transaction=True)
def test_each_side_reads_the_other_in_their_language_and_originals_stay(deepl_api, lea_and_jonas):
    lea, jonas, conversation = lea_and_jonas
    to_jonas = post_message(
        conversation=conversation, author=lea, text="Bonjour", language="fr"
    ).message
    to_lea = post_message(
        conversation=conversation, author=jonas, text="Hallo, wie kann ich helfen?", language="de"
    ).message
    de = MessageTranslation.objects.get(message=to_jonas, target_language="de")
    fr = MessageTranslation.objects.get(message=to_lea, target_language="fr")
    assert (de.status, fr.status) == (TranslationStatus.DONE, TranslationStatus.DONE)
    assert de.text.startswith("[DE]")
    assert fr.text.startswith("[FR]")
    to_jonas.refresh_from_db()
    assert to_jonas.text == "Bonjour"  # the original is kept, one tap away
    # the author's own language is not a target
    assert not MessageTranslation.objects.filter(message=to_jonas, target_language="fr").exists()
    assert TranslationUsage.objects.get().characters > 0


@pytest.mark.django_db(transaction=True)
def test_identical_texts_are_translated_once_per_pair(deepl_api, lea_and_jonas):
    lea, _jonas, conversation = lea_and_jonas
    for _ in range(3):
        post_message(conversation=conversation, author=lea, text="Merci beaucoup", language="fr")
    assert len(deepl_api.translate_calls) == 1
    assert MessageTranslation.objects.filter(status=TranslationStatus.DONE).count() == 3


@pytest.mark.django_db(transaction=True)
def test_without_a_key_originals_are_shown_with_a_clear_state(settings, lea_and_jonas):
    settings.DEEPL_AUTH_KEY = ""
    lea, _jonas, conversation = lea_and_jonas
    message = post_message(
        conversation=conversation, author=lea, text="Bonjour", language="fr"
    ).message
    row = MessageTranslation.objects.get(message=message)
    assert row.status == TranslationStatus.NOT_CONFIGURED
    assert row.text == ""


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("mode", "status"),
    [("auth_failure", TranslationStatus.FAILED), ("quota_exceeded", TranslationStatus.PAUSED)],
)
def test_provider_errors_leave_the_message_delivered_with_a_visible_state(
    deepl_api, lea_and_jonas, mode, status
):
    lea, _jonas, conversation = lea_and_jonas
    deepl_api.set_mode(mode)
    result = post_message(conversation=conversation, author=lea, text="Bonjour", language="fr")
    assert result.created
    row = MessageTranslation.objects.get(message=result.message)
    assert row.status == status
    assert row.error


@pytest.mark.django_db(transaction=True)
def test_rate_limit_is_retried_then_succeeds(deepl_api, lea_and_jonas):
    lea, _jonas, conversation = lea_and_jonas
    deepl_api.set_mode("rate_limited", times=1, retry_after=0)
    message = post_message(
        conversation=conversation, author=lea, text="Bonjour", language="fr"
    ).message
    row = MessageTranslation.objects.get(message=message)
    assert row.status == TranslationStatus.DONE
    assert row.attempts == 2


@pytest.mark.django_db(transaction=True)
def test_budget_pauses_translation(deepl_api, lea_and_jonas, settings):
    settings.DEEPL_MONTHLY_CHAR_BUDGET = 5
    lea, _jonas, conversation = lea_and_jonas
    message = post_message(
        conversation=conversation, author=lea, text="Bonjour à vous", language="fr"
    ).message
    assert MessageTranslation.objects.get(message=message).status == TranslationStatus.PAUSED
    assert deepl_api.translate_calls == []


@pytest.mark.django_db(transaction=True)
async def test_slow_translator_does_not_delay_delivery(deepl_api, settings):
    """The original reaches the reader at once; the translation follows as an event."""
    settings.CELERY_TASK_ALWAYS_EAGER = False  # translation runs on the worker, not inline
    from core.celery import app

    app.conf.task_always_eager = False
    lea = await database_sync_to_async(make_user)("lea2@example.fr", preferred_language="fr")
    jonas = await database_sync_to_async(make_user)(
        "jonas2@example.de", role="artisan", preferred_language="de"
    )
    conversation = await database_sync_to_async(start_conversation)(buyer=lea, artisan=jonas)
    deepl_api.set_mode("slow", delay=1.5)
    sent_tasks: list[int] = []
    from conversations import tasks

    original_publish = tasks.run_follow_up.apply_async
    tasks.run_follow_up.apply_async = lambda args, **_options: sent_tasks.extend(args)
    try:
        async with ws_client(jonas) as ws:
            await connect(ws)
            await ws.send_json_to({"type": "subscribe", "conversation": conversation.pk})
            await receive_type(ws, "subscribed")
            await database_sync_to_async(post_message)(
                conversation=conversation, author=lea, text="Bonjour", language="fr"
            )
            new = await receive_type(ws, "message.new")
            assert new["message"]["text"] == "Bonjour"
            # Delivery did not wait for the translator: DeepL has not even been called yet
            # (event order, not a clock).
            assert deepl_api.translate_calls == []
            assert len(sent_tasks) == 1  # its translation follow-up is queued, not yet run
            # now the worker's job runs (slowly) and the translation arrives as an event
            app.conf.task_always_eager = True
            [entry_id] = sent_tasks  # the message's one follow-up: its translation
            await database_sync_to_async(tasks.run_follow_up.apply)(args=[entry_id])
            translated = await receive_until(ws, lambda f: f["type"] == "message.translated")
            assert translated["status"] == "done"
            assert translated["language"] == "de"
            assert translated["text"].startswith("[DE]")
    finally:
        tasks.run_follow_up.apply_async = original_publish
        app.conf.task_always_eager = True
