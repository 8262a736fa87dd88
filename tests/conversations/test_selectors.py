"""Hub reads: who may only look at a conversation (moderators) and who may write in it."""

from __future__ import annotations

import pytest

from conversations.models import Message
from conversations.selectors import is_read_only_observer

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
