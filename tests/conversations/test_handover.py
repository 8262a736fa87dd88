"""The hub's handover service: a bot conversation goes to a human artisan."""

from __future__ import annotations

import pytest

from conversations.models import Channel, Conversation, Participant
from conversations.services import HubError, hand_over_to_human, start_conversation
from core.models import Role
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    events = []
    monkeypatch.setattr(
        "conversations.events.send_event_now",
        lambda group, event_type, payload, **_: events.append((group, event_type, payload)),
    )
    return events


def test_a_bot_conversation_is_assigned_and_each_inbox_hears_of_it(
    buyer, artisan, sent, django_capture_on_commit_callbacks
):
    # Given a conversation the shop bot is answering
    conversation = start_conversation(buyer=buyer, artisan=None, channel=Channel.WIDGET)
    assert conversation.bot_active
    # When it is handed over
    with django_capture_on_commit_callbacks(execute=True):
        returned = hand_over_to_human(
            conversation=conversation, artisan=artisan, reason_code="custom_request"
        )
    # Then the artisan has it, takes part in it, and the bot is silent (also in memory)
    stored = Conversation.objects.get(pk=conversation.pk)
    assert (stored.artisan_id, stored.bot_active) == (artisan.pk, False)
    assert (returned.artisan_id, returned.bot_active) == (artisan.pk, False)
    assert Participant.objects.filter(conversation=conversation, user=artisan).exists()
    # And both people's inbox lists get one conversation.updated saying so
    updates = [(group, payload) for group, kind, payload in sent if kind == "conversation.updated"]
    assert sorted(group for group, _ in updates) == sorted(
        [f"user.{buyer.pk}", f"user.{artisan.pk}"]
    )
    for _group, payload in updates:
        assert payload["conversation"] == conversation.pk
        assert payload["handed_over"] == {"artisan": artisan.pk, "reason": "custom_request"}


def test_the_artisans_own_conversation_just_silences_the_bot(buyer, artisan, sent):
    conversation = start_conversation(buyer=buyer, artisan=artisan)
    Conversation.objects.filter(pk=conversation.pk).update(bot_active=True)
    conversation.refresh_from_db()

    hand_over_to_human(conversation=conversation, artisan=artisan, reason_code="talk_to_artisan")

    assert Conversation.objects.get(pk=conversation.pk).bot_active is False


def test_another_artisans_conversation_is_refused(buyer, artisan, sent):
    other = make_user("other-artisan@example.com", role=Role.ARTISAN)
    conversation = start_conversation(buyer=buyer, artisan=artisan)

    with pytest.raises(HubError):
        hand_over_to_human(conversation=conversation, artisan=other, reason_code="custom_request")

    assert Conversation.objects.get(pk=conversation.pk).artisan_id == artisan.pk
    assert not Participant.objects.filter(conversation=conversation, user=other).exists()


def test_a_reason_must_be_a_short_code(buyer, artisan):
    conversation = start_conversation(buyer=buyer, artisan=None, channel=Channel.WIDGET)
    with pytest.raises(ValueError, match="reason_code"):
        hand_over_to_human(conversation=conversation, artisan=artisan, reason_code="x" * 33)
    assert Conversation.objects.get(pk=conversation.pk).artisan_id is None
