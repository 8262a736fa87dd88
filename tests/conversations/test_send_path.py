"""The socket's send path keeps every guarantee while doing its checks inside the write.

On PostgreSQL a text message is one guarded statement (conversations/send_path.py); on
SQLite the ORM path. The same behaviour is asserted for both; the round-trip budget only
where the guarded statement runs.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bots.models import TelegramAccount
from conversations import services
from conversations.models import (
    Block,
    Conversation,
    FollowUpEntry,
    Message,
    NotificationSettings,
    Participant,
)
from tests.conftest import make_user, require_or_skip

pytestmark = pytest.mark.django_db


def send(conversation, author, text="Is the blue vase still available?", client_id="c-1"):
    return services.post_user_message(
        conversation_id=conversation.pk, author=author, text=text, client_id=client_id
    )


def last_seq(conversation) -> int:
    return Conversation.objects.values_list("last_seq", flat=True).get(pk=conversation.pk)


def test_a_retry_is_answered_with_the_stored_message_and_spends_no_seq(conversation, buyer):
    first = send(conversation, buyer, client_id="retry-1")
    again = send(conversation, buyer, client_id="retry-1")
    assert again.created is False and again.message.pk == first.message.pk
    after = send(conversation, buyer, client_id="retry-2")
    # Gapless: the retry consumed no sequence number.
    assert after.message.seq == first.message.seq + 1 == last_seq(conversation)


def test_a_client_id_from_another_conversation_is_refused(conversation, buyer, artisan):
    send(conversation, buyer, client_id="shared-id")
    other_artisan = make_user("other-artisan@example.com", role="artisan")
    other = services.start_conversation(buyer=buyer, artisan=other_artisan, subject="Cups")
    with pytest.raises(services.HubError) as refused:
        send(other, buyer, client_id="shared-id")
    assert refused.value.field == "client_id"


def test_the_author_reads_up_to_their_own_message(conversation, buyer):
    sent = send(conversation, buyer)
    marker = Participant.objects.get(conversation=conversation, user=buyer).last_read_seq
    assert marker == sent.message.seq


def test_a_closed_conversation_refuses_and_nothing_is_written(conversation, buyer, artisan):
    send(conversation, buyer, client_id="before")
    services.set_conversation_status(conversation=conversation, user=artisan, status="closed")
    before = last_seq(conversation)
    with pytest.raises(services.HubError) as refused:
        send(conversation, buyer, client_id="after")
    assert refused.value.code == "closed"
    assert last_seq(conversation) == before
    assert not Message.objects.filter(client_id="after").exists()


def test_a_blocked_author_is_refused_and_nothing_is_written(conversation, buyer, artisan):
    Block.objects.create(blocker=artisan, blocked=buyer)
    with pytest.raises(services.Blocked):
        send(conversation, buyer)
    assert last_seq(conversation) == 0
    # The other direction still works: the blocker may write.
    assert send(conversation, artisan, client_id="a-1").created


def test_strangers_and_unknown_ids_get_the_same_answer(conversation):
    stranger = make_user("stranger@example.com")
    with pytest.raises(services.NotAParticipant):
        send(conversation, stranger)
    missing = Conversation(pk=conversation.pk + 10_000)
    with pytest.raises(services.NotAParticipant):
        send(missing, stranger)
    assert last_seq(conversation) == 0


def test_a_retry_is_answered_even_past_the_send_rate(conversation, buyer, settings):
    settings.MESSAGE_SEND_RATE = "1/h"
    first = send(conversation, buyer, client_id="only-one")
    again = send(conversation, buyer, client_id="only-one")
    assert again.message.pk == first.message.pk
    with pytest.raises(services.SendRateLimited):
        send(conversation, buyer, client_id="a-new-one")


def test_the_caller_sees_the_conversation_as_the_write_left_it(conversation, buyer):
    require_or_skip(connection.vendor == "postgresql", "the guarded write is PostgreSQL's")
    stub = Conversation(pk=conversation.pk)
    result = services.post_message(
        conversation=stub, author=buyer, text="Hello there, a question", client_id="x"
    )
    assert stub.last_seq == result.message.seq == 1
    assert stub.buyer_id == buyer.pk and stub.surfaced_at is not None
    assert result.message.conversation is stub


def translation_planned(message) -> bool:
    return FollowUpEntry.objects.filter(message=message, name="translation").exists()


def test_no_translation_is_planned_when_every_reader_shares_the_language(
    conversation, buyer, artisan
):
    # The guarded write returns the readers' languages; the ORM path (SQLite) plans the
    # translation and lets the worker find nothing to do.
    require_or_skip(connection.vendor == "postgresql", "the guarded write is PostgreSQL's")
    sent = send(conversation, buyer, text="Could you make me a set of four blue bowls, please?")
    assert sent.message.language == "en"
    assert not translation_planned(sent.message)


def test_a_reader_in_another_language_gets_a_translation_planned(conversation, buyer, artisan):
    artisan.preferred_language = "fr"
    artisan.save(update_fields=["preferred_language"])
    sent = send(conversation, buyer, text="Could you make me a set of four blue bowls, please?")
    assert translation_planned(sent.message)


def test_the_away_reply_is_planned_only_when_the_artisan_is_away(conversation, buyer, artisan):
    text = "Could you make me a set of four blue bowls, please?"
    quiet = send(conversation, buyer, text=text, client_id="q-1")
    assert not FollowUpEntry.objects.filter(message=quiet.message, name="away_reply").exists()
    NotificationSettings.objects.update_or_create(user=artisan, defaults={"away_enabled": True})
    away = send(conversation, buyer, text=text, client_id="q-2")
    assert FollowUpEntry.objects.filter(message=away.message, name="away_reply").exists()


def test_the_write_tells_whether_the_buyer_has_a_telegram_chat(conversation, buyer, artisan):
    # bots registers the fact; the write returns it, and the Telegram follow-up is planned
    # only when it is true (a web-only buyer costs no lookup per artisan message).
    require_or_skip(connection.vendor == "postgresql", "the guarded write is PostgreSQL's")
    web_only = send(conversation, artisan, text="Yes, by Friday.", client_id="w-1")
    assert web_only.message.write_facts["buyer_on_telegram"] is False
    assert not FollowUpEntry.objects.filter(
        message=web_only.message, name="telegram_delivery"
    ).exists()
    TelegramAccount.objects.create(
        user=buyer,
        telegram_user_id=4242,
        chat_id=4242,
        is_guest=False,
        active_conversation=conversation,
    )
    linked = send(conversation, artisan, text="Glazed in blue.", client_id="w-2")
    assert linked.message.write_facts["buyer_on_telegram"] is True
    assert FollowUpEntry.objects.filter(message=linked.message, name="telegram_delivery").exists()
    buyer.is_active = False
    buyer.save(update_fields=["is_active"])
    TelegramAccount.objects.filter(user=buyer).update(active_conversation=None)
    inactive = Message.objects.get(pk=linked.message.pk)  # no write facts: the check queries
    from bots.follow_ups import goes_to_telegram

    assert not hasattr(inactive, "write_facts") and goes_to_telegram(inactive) is False


def test_a_text_message_costs_three_round_trips_on_postgresql(conversation, buyer, artisan):
    require_or_skip(connection.vendor == "postgresql", "the guarded write is PostgreSQL's")
    send(conversation, buyer, client_id="warm")  # loads the moderation word list once
    with CaptureQueriesContext(connection) as buyer_queries:
        send(conversation, buyer, client_id="b-2")
    with CaptureQueriesContext(connection) as artisan_queries:
        send(conversation, artisan, text="Yes, by Friday.", client_id="a-2")
    # BEGIN, the guarded write, COMMIT: the other apps' follow-up checks (the buyer's
    # Telegram link, whether a person took over from the assistant) come back from the
    # write — and the follow-up rows and their publish only when one applies (the bot
    # reply here, for the buyer).
    assert len(artisan_queries.captured_queries) <= 3, artisan_queries.captured_queries
    assert len(buyer_queries.captured_queries) <= 5, buyer_queries.captured_queries


def test_the_write_tells_whether_a_person_took_over_from_the_assistant(
    conversation, buyer, artisan
):
    # nlu registers the fact: with the bot off, a buyer's message plans the bot's reply
    # only while a handover is open (the assistant may come back after the idle time).
    require_or_skip(connection.vendor == "postgresql", "the guarded write is PostgreSQL's")
    from django.utils import timezone

    from nlu.models import BotConversationState

    Conversation.objects.filter(pk=conversation.pk).update(bot_active=False)
    conversation.refresh_from_db()
    quiet = send(conversation, buyer, client_id="h-1")
    assert quiet.message.write_facts["bot_handed_over"] is False
    assert not FollowUpEntry.objects.filter(message=quiet.message, name="bot_reply").exists()
    BotConversationState.objects.update_or_create(
        conversation=conversation, defaults={"handed_over_at": timezone.now()}
    )
    handed = send(conversation, buyer, client_id="h-2")
    assert handed.message.write_facts["bot_handed_over"] is True
    assert FollowUpEntry.objects.filter(message=handed.message, name="bot_reply").exists()
