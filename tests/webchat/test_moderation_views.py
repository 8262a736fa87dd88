"""Moderation console: admin only, queue contents, actions recorded in the audit trail."""

from __future__ import annotations

import pytest

from conversations.models import FlagWord, MessageTranslation, ModerationAction, Report
from conversations.services import report_message
from tests.webchat.conftest import say, signed_in

pytestmark = pytest.mark.django_db


def test_console_requires_an_admin(client, buyer_client, artisan_client, admin_client_signed_in):
    assert client.get("/moderation/").status_code == 302  # to login
    assert buyer_client.get("/moderation/").status_code == 403
    assert artisan_client.get("/moderation/").status_code == 403
    assert admin_client_signed_in.get("/moderation/").status_code == 200


def test_non_admins_cannot_act_either(buyer_client, artisan, conversation):
    message = say(conversation, artisan, "hello")
    assert buyer_client.post(f"/moderation/messages/{message.pk}/hide/").status_code == 403
    message.refresh_from_db()
    assert not message.is_hidden


def test_queue_shows_reported_and_flagged_messages_with_reasons_and_translations(
    admin_client_signed_in, buyer, artisan, conversation
):
    # Given a reported message with a stored translation, an auto-flagged one and a clean one
    reported = say(conversation, artisan, "Eres un idiota")
    report_message(message=reported, reporter=buyer, reason="Insulting me")
    MessageTranslation.objects.create(
        message=reported, target_language="en", text="You are an idiot", status="done"
    )
    flagged = say(conversation, artisan, "Pay me via western union, it is cheaper")
    say(conversation, buyer, "Thanks, lovely vase")
    assert flagged.flagged

    # When the moderator opens the queue
    html = admin_client_signed_in.get("/moderation/").content.decode()

    # Then both problem messages show, with original, translation and reasons
    assert "Eres un idiota" in html and "You are an idiot" in html
    assert "Insulting me" in html
    assert "western union" in html
    assert "lovely vase" not in html


def test_hide_from_console_hides_and_records_the_action(
    admin_client_signed_in, admin_user, buyer, artisan, conversation
):
    message = say(conversation, artisan, "Send the money to my PayPal friends account")
    report_message(message=message, reporter=buyer, reason="Scam")

    response = admin_client_signed_in.post(
        f"/moderation/messages/{message.pk}/hide/", {"note": "payment diversion"}
    )

    assert response.status_code == 302
    message.refresh_from_db()
    assert message.is_hidden and message.hidden_by == admin_user
    action = ModerationAction.objects.get(kind="hide")
    assert action.moderator == admin_user and action.message == message
    assert action.note == "payment diversion"
    assert Report.objects.get(message=message).status == Report.Status.ACTIONED
    # The queue is now empty and the hidden tab lists it for a possible restore
    assert "Nothing to review" in admin_client_signed_in.get("/moderation/").content.decode()
    hidden_tab = admin_client_signed_in.get("/moderation/?state=hidden").content.decode()
    assert "Restore message" in hidden_tab


def test_dismiss_and_unhide(admin_client_signed_in, buyer, artisan, conversation):
    message = say(conversation, artisan, "Call me on +33 6 12 34 56 78")
    assert message.flagged
    admin_client_signed_in.post(f"/moderation/messages/{message.pk}/dismiss/")
    message.refresh_from_db()
    assert not message.flagged
    admin_client_signed_in.post(f"/moderation/messages/{message.pk}/hide/")
    admin_client_signed_in.post(f"/moderation/messages/{message.pk}/unhide/")
    message.refresh_from_db()
    assert not message.is_hidden
    kinds = list(ModerationAction.objects.order_by("pk").values_list("kind", flat=True))
    assert kinds == ["dismiss", "hide", "unhide"]


def test_suspend_needs_a_reason_and_records_it(admin_client_signed_in, buyer):
    refused = admin_client_signed_in.post(f"/moderation/users/{buyer.pk}/suspend/", {"reason": ""})
    assert refused.status_code == 302
    buyer.refresh_from_db()
    assert not buyer.is_suspended

    admin_client_signed_in.post(
        f"/moderation/users/{buyer.pk}/suspend/", {"reason": "Scam attempts"}
    )
    buyer.refresh_from_db()
    assert buyer.is_suspended and buyer.suspension_reason == "Scam attempts"
    assert ModerationAction.objects.get(kind="suspend").target_user == buyer


def test_moderator_conversation_view_shows_originals_and_trail(
    admin_client_signed_in, admin_user, buyer, artisan, conversation
):
    from conversations.services import hide_message

    bad = say(conversation, artisan, "really rude words")
    hide_message(message=bad, moderator=admin_user, note="rude")

    html = admin_client_signed_in.get(
        f"/moderation/conversations/{conversation.pk}/"
    ).content.decode()

    # The original of a hidden message is visible to moderators, with who hid it
    assert "really rude words" in html
    assert "Hidden by" in html
    # The view itself is recorded, and the trail lists it next to the hide
    assert ModerationAction.objects.filter(kind="view", conversation=conversation).count() == 1
    assert "Opened conversation" in html or "Hid message" in html
    assert 'name="text"' not in html  # no composer: moderators do not chat here


def test_flag_words_can_be_managed(admin_client_signed_in, buyer, artisan, conversation):
    admin_client_signed_in.post(
        "/moderation/flag-words/", {"phrase": "Secret Deal", "reason": "deal"}
    )
    word = FlagWord.objects.get()
    assert word.phrase == "secret deal" and word.active

    duplicate = admin_client_signed_in.post("/moderation/flag-words/", {"phrase": "secret deal"})
    assert "already on the list" in duplicate.content.decode()

    flagged = say(conversation, artisan, "Let's make a secret deal")
    assert flagged.flagged

    admin_client_signed_in.post(f"/moderation/flag-words/{word.pk}/disable/")
    word.refresh_from_db()
    assert not word.active
    admin_client_signed_in.post(f"/moderation/flag-words/{word.pk}/delete/")
    assert not FlagWord.objects.exists()


def test_flag_words_page_is_admin_only(artisan):
    assert signed_in(artisan).get("/moderation/flag-words/").status_code == 403
