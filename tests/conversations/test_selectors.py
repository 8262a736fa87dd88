"""Hub reads: who may only look at a conversation (moderators) and who may write in it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.models import Message, Participant
from conversations.selectors import is_read_only_observer, subscription_state
from conversations.services import post_message

pytestmark = pytest.mark.django_db


def test_a_moderator_outside_the_conversation_is_a_read_only_observer(conversation, admin_user):
    assert is_read_only_observer(user=admin_user, conversation_id=conversation.pk) is True


def test_participants_are_not_read_only(conversation, buyer, artisan):
    assert is_read_only_observer(user=buyer, conversation_id=conversation.pk) is False
    assert is_read_only_observer(user=artisan, conversation_id=conversation.pk) is False


def test_a_stranger_or_a_missing_conversation_is_not_read_only(conversation, admin_user):
    from tests.conftest import make_user

    stranger = make_user("stranger@example.com")
    assert is_read_only_observer(user=stranger, conversation_id=conversation.pk) is False
    assert is_read_only_observer(user=admin_user, conversation_id=conversation.pk + 999) is False


def test_the_api_refuses_a_moderator_post_with_read_only(client, conversation, admin_user):
    client.force_login(admin_user)
    response = client.post(
        f"/api/conversations/{conversation.pk}/messages/",
        {"client_id": "mod-1", "text": "hi"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "read_only"
    assert not Message.objects.filter(conversation=conversation, client_id="mod-1").exists()


def _state(user, conversation, **kwargs):
    return subscription_state(
        user=user, conversation_id=conversation.pk, limit=kwargs.pop("limit", 50), **kwargs
    )


def test_a_caught_up_subscription_costs_one_query(conversation, buyer, artisan):
    """A reconnect storm is mostly clients that miss nothing: the access check, the marks and
    the read markers come in one statement, and no message page is read."""
    post_message(conversation=conversation, author=artisan, text="Hola")
    with CaptureQueriesContext(connection) as queries:
        state = _state(buyer, conversation, after_seq=1, after_update_seq=0)
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert state.missed == [] and state.changed == [] and state.last_seq == 1
    assert sorted(state.participant_ids) == sorted([buyer.pk, artisan.pk])
    assert state.read_markers[artisan.pk] == 1 and state.read_markers[buyer.pk] == 0


def test_a_subscription_replays_what_the_client_lacks(conversation, buyer, artisan):
    for text in ("uno", "dos", "tres"):
        post_message(conversation=conversation, author=artisan, text=text)
    state = _state(buyer, conversation, after_seq=1, limit=1)
    assert [m["seq"] for m in state.missed] == [2]
    assert state.has_more is True and state.last_seq == 3


def test_strangers_get_nothing_and_moderators_read_any_thread(conversation, admin_user):
    from tests.conftest import make_user

    post_message(conversation=conversation, author=conversation.buyer, text="Hi")
    assert _state(make_user("stranger@example.com"), conversation, after_seq=0) is None
    assert _state(admin_user, conversation.__class__(pk=conversation.pk + 999), after_seq=0) is None
    as_moderator = _state(admin_user, conversation, after_seq=0)
    assert [m["seq"] for m in as_moderator.missed] == [1]
    assert admin_user.pk not in as_moderator.participant_ids
    # A thread whose people were all erased stays readable to moderators, with no markers.
    Participant.objects.filter(conversation=conversation).delete()
    emptied = _state(admin_user, conversation, after_seq=0)
    assert emptied.read_markers == {} and emptied.last_seq == 1
