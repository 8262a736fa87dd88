"""Translation is never on the delivery path (issue 15 item 4), in the embedded default
(no broker: slow follow-ups on the background pool) with the real deepl library against a
slow stand-in: Telegram and web delivery and the bot's replies happen while DeepL is still
answering; the translation is edited into Telegram when it arrives; a timed-out text is
not billed twice; a 456 pauses translation until the period resets; eager retries work.

"Still answering" is read off the stand-in (its recorded call has no status yet): event
order, not a clock."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from channels.layers import get_channel_layer

from bots.models import TelegramAccount, TelegramDelivery
from conversations import inline_worker, translating
from conversations.glossary import translation_options
from conversations.message_translation import resume_paused_translations
from conversations.models import (
    Channel,
    Message,
    MessageKind,
    MessageTranslation,
    Participant,
    TranslationStatus,
    TranslationUsage,
)
from conversations.services import post_message, start_conversation
from conversations.translation.provider import get_translator
from tests.conftest import make_user
from tests.standins.deepl_server import DeepLStandIn
from tests.standins.telegram_server import TelegramBotApiStandIn

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "atelier-test-key:fx"
BUYER_CHAT = 7_150


@pytest.fixture
def deepl_api(settings):
    with DeepLStandIn(auth_key=KEY) as api:
        settings.DEEPL_AUTH_KEY = KEY
        settings.DEEPL_SERVER_URL = api.url
        settings.DEEPL_TIMEOUT = 20.0  # longer than the stand-in's slow answers
        settings.DEEPL_MAX_RETRIES = 0
        settings.FOLLOW_UP_SLOW_IN_BACKGROUND = True  # as `make run`: no worker, no broker
        yield api
        # Stopping the stand-in interrupts a slow answer; then let the pool finish.
        api.stop()
        inline_worker.cancel_timers()
        assert inline_worker.drain(timeout=30)
    inline_worker.cancel_timers()


def _wait_for_call(api: DeepLStandIn, count: int = 1) -> None:
    """Block until the background pool's request has reached the stand-in."""
    event = threading.Event()
    for _ in range(400):
        if len(api.translate_calls) >= count:
            return
        event.wait(0.025)
    raise AssertionError(f"DeepL got {len(api.translate_calls)} requests, expected {count}")


def _telegram_buyer(language: str = "fr") -> tuple:
    buyer = make_user(f"buyer-{language}@example.com", preferred_language=language)
    account = TelegramAccount.objects.create(
        user=buyer,
        telegram_user_id=BUYER_CHAT,
        chat_id=BUYER_CHAT,
        first_name="Léa",
        language_code=language,
        is_guest=False,
    )
    return buyer, account


def _french_telegram_buyer_and_german_artisan():
    buyer, account = _telegram_buyer("fr")
    artisan = make_user("jonas@example.de", role="artisan", preferred_language="de")
    conversation = start_conversation(buyer=buyer, artisan=artisan, channel=Channel.TELEGRAM)
    TelegramAccount.objects.filter(pk=account.pk).update(active_conversation=conversation)
    return artisan, conversation


def test_telegram_gets_the_artisans_message_while_deepl_is_still_translating_it(
    deepl_api, telegram_sender, telegram_standin: TelegramBotApiStandIn
):
    artisan, conversation = _french_telegram_buyer_and_german_artisan()
    deepl_api.set_mode("slow", delay=10.0)

    post_message(
        conversation=conversation, author=artisan, text="Hallo, wie kann ich helfen?", language="de"
    )

    # Then the buyer already has the original in Telegram…
    [shown] = telegram_standin.sent_messages(BUYER_CHAT)
    assert "Hallo, wie kann ich helfen?" in shown["text"]
    # …while DeepL has the text and has not answered yet
    _wait_for_call(deepl_api)
    [call] = deepl_api.translate_calls
    assert call.status is None
    assert MessageTranslation.objects.get().status == TranslationStatus.PENDING


def test_the_translation_is_edited_into_telegram_when_it_arrives(
    deepl_api, telegram_sender, telegram_standin: TelegramBotApiStandIn
):
    artisan, conversation = _french_telegram_buyer_and_german_artisan()
    deepl_api.set_mode("slow", delay=0.3)

    message = post_message(
        conversation=conversation, author=artisan, text="Der Teppich ist fertig.", language="de"
    ).message
    assert inline_worker.drain(timeout=30)

    # Then the Telegram message now reads in French, edited once; DeepL billed once
    [shown] = telegram_standin.sent_messages(BUYER_CHAT)
    assert "[FR] Der Teppich ist fertig." in shown["text"]
    assert len(telegram_standin.calls_to("editMessageText")) == 1
    assert len(deepl_api.translate_calls) == 1
    assert TelegramDelivery.objects.get(message=message).shown_language == "fr"
    # A repeated notice (a retried task) edits nothing more
    from bots.bridge import show_translation

    assert show_translation(message.pk, "fr") == "already_shown"
    assert len(telegram_standin.calls_to("editMessageText")) == 1


def test_the_bots_reply_reaches_telegram_while_the_buyers_message_is_being_translated(
    deepl_api, telegram_sender, telegram_standin: TelegramBotApiStandIn
):
    buyer, account = _telegram_buyer("en")
    conversation = start_conversation(buyer=buyer, artisan=None, channel=Channel.TELEGRAM)
    TelegramAccount.objects.filter(pk=account.pk).update(active_conversation=conversation)
    # A German-speaking moderator follows the thread, so the buyer's text is translated.
    moderator = make_user("mod@example.de", role="admin", preferred_language="de")
    Participant.objects.create(conversation=conversation, user=moderator)
    deepl_api.set_mode("slow", delay=10.0)

    post_message(conversation=conversation, author=buyer, text="hello there", language="en")

    # Then the assistant has answered in Telegram…
    assert Message.objects.filter(conversation=conversation, kind=MessageKind.BOT).exists()
    assert telegram_standin.sent_messages(BUYER_CHAT)
    # …while DeepL is still on the buyer's text (and the reply's, for the moderator)
    _wait_for_call(deepl_api)
    assert {call.status for call in deepl_api.translate_calls} == {None}


async def test_web_readers_get_the_message_while_deepl_is_still_translating_it(deepl_api):
    from channels.db import database_sync_to_async

    buyer = await database_sync_to_async(make_user)("lea@example.fr", preferred_language="fr")
    artisan = await database_sync_to_async(make_user)(
        "jonas@example.de", role="artisan", preferred_language="de"
    )
    conversation = await database_sync_to_async(start_conversation)(buyer=buyer, artisan=artisan)
    layer = get_channel_layer()
    reader = await layer.new_channel()
    from conversations.events import conversation_group

    await layer.group_add(conversation_group(conversation.pk), reader)
    deepl_api.set_mode("slow", delay=10.0)

    await database_sync_to_async(post_message)(
        conversation=conversation, author=buyer, text="Bonjour !", language="fr"
    )

    # Then the socket group has the new message…
    event = await layer.receive(reader)
    assert event["type"] == "hub.event"
    assert event["event"]["type"] == "message.new"
    # …while DeepL is still answering
    await database_sync_to_async(_wait_for_call)(deepl_api)
    assert deepl_api.translate_calls[0].status is None


def test_two_readers_asking_for_the_same_text_at_once_cost_one_request(deepl_api):
    deepl_api.set_mode("slow", delay=0.5)
    translator = get_translator()
    options = translation_options(source_language="fr", target_language="de")
    outcomes: list[translating.Attempt] = []

    def ask() -> None:
        from django.db import connection

        outcomes.append(
            translating.translate_once(
                translator, text="Merci beaucoup", options=options, source="fr"
            )
        )
        connection.close()

    first = threading.Thread(target=ask)
    first.start()
    _wait_for_call(deepl_api)
    ask()  # while the first is in flight
    first.join()

    # Then one request went to DeepL; the second asker was told to come back
    assert len(deepl_api.translate_calls) == 1
    assert sorted(outcome.status for outcome in outcomes) == [TranslationStatus.DONE, "retry"]
    # and coming back it reads the cache, not DeepL
    again = translating.translate_once(
        translator, text="Merci beaucoup", options=options, source="fr"
    )
    assert (again.status, again.provider) == (TranslationStatus.DONE, "cache")
    assert len(deepl_api.translate_calls) == 1


def test_a_456_pauses_translation_until_the_period_resets_then_it_resumes(settings):
    settings.FOLLOW_UP_SLOW_IN_BACKGROUND = False  # inline, to read the states at once
    with DeepLStandIn(auth_key=KEY) as api:
        settings.DEEPL_AUTH_KEY = KEY
        settings.DEEPL_SERVER_URL = api.url
        settings.DEEPL_MAX_RETRIES = 0
        lea = make_user("lea@example.fr", preferred_language="fr")
        jonas = make_user("jonas@example.de", role="artisan", preferred_language="de")
        conversation = start_conversation(buyer=lea, artisan=jonas)
        api.set_mode("quota_exceeded", times=1)

        first = post_message(conversation=conversation, author=lea, text="Bonjour", language="fr")
        second = post_message(
            conversation=conversation, author=lea, text="Le tapis est beau", language="fr"
        )

        # Then DeepL was asked once: the second message was paused without a request
        assert len(api.translate_calls) == 1
        rows = MessageTranslation.objects.filter(message__in=[first.message, second.message])
        assert {row.status for row in rows} == {TranslationStatus.PAUSED}
        assert {row.error for row in rows} >= {translating.QUOTA_REACHED}
        assert resume_paused_translations() == 0  # still the same period

        # When the period ends (the paused month is now last month)
        TranslationUsage.objects.update(month=date(2000, 1, 1))
        assert translating.budget_allows(10)
        assert resume_paused_translations() == 2

        # Then both are translated, and new messages are too
        assert {row.status for row in rows.all()} == {TranslationStatus.DONE}
        third = post_message(conversation=conversation, author=lea, text="Merci", language="fr")
        assert MessageTranslation.objects.get(message=third.message).status == (
            TranslationStatus.DONE
        )


def test_the_eager_retry_of_the_old_translation_task_does_not_crash(settings):
    from conversations.tasks import translate_message

    with DeepLStandIn(auth_key=KEY) as api:
        settings.DEEPL_AUTH_KEY = KEY
        settings.DEEPL_SERVER_URL = api.url
        settings.DEEPL_MAX_RETRIES = 0
        lea = make_user("lea@example.fr", preferred_language="fr")
        jonas = make_user("jonas@example.de", role="artisan", preferred_language="de")
        conversation = start_conversation(buyer=lea, artisan=jonas)
        api.set_mode("rate_limited", times=2, retry_after=0)
        message = post_message(
            conversation=conversation, author=lea, text="Bonjour", language="fr"
        ).message
        row = MessageTranslation.objects.get(message=message)
        assert row.status == TranslationStatus.PENDING  # two 429s: still to do

        # When a task of the old name runs it eagerly (no nested .get(), no RuntimeError)
        result = translate_message.apply(args=[message.pk])

        assert result.successful()
        row.refresh_from_db()
        assert row.status == TranslationStatus.DONE


def test_a_marker_left_by_a_killed_attempt_does_not_hold_up_its_own_retry(deepl_api):
    from django.core.cache import cache

    translator = get_translator()
    options = translation_options(source_language="fr", target_language="de")
    marker = translating._inflight_key(options.cache_key("Bonsoir"), "fr", "de")
    # Given a worker died mid-request for row 7, leaving its marker behind
    cache.set(marker, "message-translation:7", timeout=60)

    # Then another piece of work asking for the same text waits…
    other = translating.translate_once(
        translator, text="Bonsoir", options=options, source="fr", owner="message-translation:8"
    )
    assert other.status == "retry" and not other.called
    assert deepl_api.translate_calls == []
    # …while row 7's own retry goes ahead, once, and frees the marker
    own = translating.translate_once(
        translator, text="Bonsoir", options=options, source="fr", owner="message-translation:7"
    )
    assert (own.status, own.provider) == (TranslationStatus.DONE, "deepl")
    assert len(deepl_api.translate_calls) == 1
    assert cache.get(marker) is None
