"""post_message: the single entry point — validation, seq, idempotency, rules."""

from __future__ import annotations

import pytest
from django.utils import timezone

from conversations import services
from conversations.models import Message, MessageKind, Participant
from conversations.services import HubError, post_message
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_messages_get_strictly_increasing_seq_and_author_reads_own(conversation, buyer, artisan):
    first = post_message(
        conversation=conversation,
        author=buyer,
        text="Hola, ¿tienes jarrones azules?",
        client_id="c1",
    )
    second = post_message(
        conversation=conversation, author=artisan, text="Sí, claro", client_id="c2"
    )
    assert (first.message.seq, second.message.seq) == (1, 2)
    conversation.refresh_from_db()
    assert conversation.last_seq == 2
    assert Participant.objects.get(conversation=conversation, user=buyer).last_read_seq == 1
    assert first.message.language == "es"


def test_retry_with_same_client_id_returns_the_same_message(conversation, buyer):
    a = post_message(conversation=conversation, author=buyer, text="hello", client_id="retry-1")
    b = post_message(conversation=conversation, author=buyer, text="hello", client_id="retry-1")
    assert a.created and not b.created
    assert a.message.pk == b.message.pk
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    ("text", "code"),
    [("", "empty"), ("   ", "empty"), ("x" * 4001, "too_long")],
)
def test_bad_text_is_rejected_and_nothing_is_stored(conversation, buyer, text, code):
    with pytest.raises(HubError) as err:
        post_message(conversation=conversation, author=buyer, text=text, client_id="x")
    assert err.value.code == code
    assert not Message.objects.exists()


def test_outsiders_cannot_post(conversation):
    stranger = make_user("stranger@example.com")
    with pytest.raises(services.NotAParticipant):
        post_message(conversation=conversation, author=stranger, text="hi")


def test_people_cannot_post_card_kinds(conversation, buyer):
    with pytest.raises(HubError):
        post_message(
            conversation=conversation, author=buyer, text="fake offer", kind=MessageKind.OFFER
        )


def test_blocking_really_blocks(conversation, buyer, artisan):
    services.block_user(blocker=artisan, blocked=buyer)
    with pytest.raises(services.Blocked):
        post_message(conversation=conversation, author=buyer, text="please answer")
    # and they cannot open a new conversation with the blocker either
    with pytest.raises(services.Blocked):
        services.start_conversation(buyer=buyer, artisan=artisan, subject="again")
    # the blocker can still write
    assert post_message(conversation=conversation, author=artisan, text="bye").created


def test_suspended_people_cannot_post(conversation, buyer):
    buyer.suspended_at = timezone.now()
    buyer.save()
    with pytest.raises(HubError) as err:
        post_message(conversation=conversation, author=buyer, text="hi")
    assert err.value.code == "suspended"


def test_edit_keeps_previous_versions_and_cards_are_not_editable(conversation, buyer):
    msg = post_message(conversation=conversation, author=buyer, text="I want a red mug").message
    services.edit_message(message=msg, editor=buyer, text="I want a blue mug")
    services.edit_message(message=msg, editor=buyer, text="I want a green mug")
    msg.refresh_from_db()
    assert msg.text == "I want a green mug"
    assert msg.edited_at is not None
    assert [r.text for r in msg.revisions.all()] == ["I want a red mug", "I want a blue mug"]
    card = post_message(
        conversation=conversation,
        author=None,
        kind=MessageKind.OFFER,
        text="",
        payload={"total": "40.00"},
    ).message
    with pytest.raises(HubError):
        services.edit_message(message=card, editor=buyer, text="total 1")


def test_scam_patterns_are_flagged_but_delivered(conversation, artisan):
    msg = post_message(
        conversation=conversation,
        author=artisan,
        text="Pay me directly by bank transfer, email me at rosa@example.com or +34 612 345 678",
    ).message
    assert msg.flagged
    reasons = {f["reason"] for f in msg.flag_reasons}
    assert {"email address", "phone number", "off-platform payment or contact"} <= reasons


def test_configurable_word_list_flags(conversation, buyer):
    from conversations.models import FlagWord

    FlagWord.objects.create(phrase="escrow service", reason="fake escrow")
    msg = post_message(
        conversation=conversation, author=buyer, text="Let's use my escrow service"
    ).message
    assert msg.flagged
    assert {"reason": "fake escrow", "excerpt": "escrow service"} in msg.flag_reasons


def test_moderator_hides_and_both_sides_see_removed(conversation, buyer, admin_user):
    msg = post_message(conversation=conversation, author=buyer, text="rude words").message
    services.hide_message(message=msg, moderator=admin_user, note="abuse")
    from conversations.selectors import serialize_with_translations

    data = serialize_with_translations(Message.objects.get(pk=msg.pk))
    assert data["hidden"] is True
    assert data["text"] == ""
    from conversations.models import ModerationAction

    assert ModerationAction.objects.filter(kind="hide", message=msg, moderator=admin_user).exists()
    with pytest.raises(Exception, match="moderators"):
        services.hide_message(message=msg, moderator=buyer)


def test_mark_read_only_moves_forward(conversation, buyer, artisan):
    for i in range(3):
        post_message(conversation=conversation, author=artisan, text=f"m{i}")
    conversation.refresh_from_db()
    assert services.mark_read(conversation=conversation, user=buyer, seq=2) == 2
    assert services.mark_read(conversation=conversation, user=buyer, seq=1) == 2
    assert services.mark_read(conversation=conversation, user=buyer, seq=99) == 3


def test_retention_purges_closed_chat_but_keeps_cards(conversation, buyer, settings):
    post_message(conversation=conversation, author=buyer, text="my address is secret")
    post_message(
        conversation=conversation,
        author=None,
        kind=MessageKind.ORDER_UPDATE,
        text="Order AT-1 shipped",
        payload={"status": "shipped"},
    )
    conversation.status = "closed"
    conversation.closed_at = timezone.now() - timezone.timedelta(days=40)
    conversation.save()
    assert services.purge_closed_conversation_content(older_than_days=30) == 1
    texts = dict(Message.objects.values_list("kind", "text"))
    assert texts["text"] == ""
    assert texts["order_update"] == "Order AT-1 shipped"
