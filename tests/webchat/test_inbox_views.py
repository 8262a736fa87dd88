"""Artisan inbox and buyer messages pages: who sees what, ordering, search, filters, actions."""

from __future__ import annotations

import json
import re

import pytest

from conversations.models import Block, ConversationLabel, Message, NotificationSettings, Report
from conversations.services import mark_read, start_conversation
from tests.webchat.conftest import say, signed_in

pytestmark = pytest.mark.django_db


def listed_ids(response) -> list[int]:
    return [int(i) for i in re.findall(r'data-conversation-id="(\d+)"', response.content.decode())]


def chat_config(response) -> dict:
    match = re.search(
        r'<script id="chat-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "the page embeds its chat config"
    return json.loads(match.group(1))


def test_inbox_lists_only_the_artisans_own_conversations(
    artisan_client, artisan, other_artisan, buyer, other_buyer
):
    # Given two conversations with me and one with another artisan
    mine_1 = start_conversation(buyer=buyer, artisan=artisan, subject="Vase")
    mine_2 = start_conversation(buyer=other_buyer, artisan=artisan, subject="Bowl")
    theirs = start_conversation(buyer=buyer, artisan=other_artisan, subject="Scarf")
    for conv in (mine_1, mine_2, theirs):
        say(conv, conv.buyer, "Hello")

    # When I open my inbox
    response = artisan_client.get("/inbox/")

    # Then only my conversations are listed
    assert response.status_code == 200
    assert set(listed_ids(response)) == {mine_1.pk, mine_2.pk}
    assert "Scarf" not in response.content.decode()


def test_unread_conversations_come_first_with_their_count(
    artisan_client, artisan, buyer, other_buyer
):
    # Given an older conversation with two unread messages and a newer one I have read
    unread = start_conversation(buyer=buyer, artisan=artisan, subject="Unread one")
    say(unread, buyer, "First")
    say(unread, buyer, "Second")
    read = start_conversation(buyer=other_buyer, artisan=artisan, subject="Read one")
    message = say(read, other_buyer, "Newest message")
    mark_read(conversation=read, user=artisan, seq=message.seq)

    # When I open the inbox
    response = artisan_client.get("/inbox/")

    # Then the unread conversation is first, with a badge of 2
    assert listed_ids(response) == [unread.pk, read.pk]
    html = response.content.decode()
    assert re.search(r'conv-unread">2<span class="visually-hidden"> unread', html)


def test_search_finds_by_message_text_and_name(artisan_client, artisan, buyer, other_buyer):
    vase = start_conversation(buyer=buyer, artisan=artisan, subject="Vase")
    say(vase, buyer, "Can you glaze it in cobalt blue?")
    bowl = start_conversation(buyer=other_buyer, artisan=artisan, subject="Bowl")
    say(bowl, other_buyer, "A salad bowl please")

    assert listed_ids(artisan_client.get("/inbox/?q=cobalt")) == [vase.pk]
    assert listed_ids(artisan_client.get("/inbox/?q=Sam")) == [bowl.pk]
    empty = artisan_client.get("/inbox/?q=nothing-matches")
    assert listed_ids(empty) == []
    assert "No conversations match these filters." in empty.content.decode()


def test_search_finds_an_order_thread_by_its_reference(artisan_client, artisan, buyer):
    # Cards store facts, not text; the reference on the order card still finds the thread
    from conversations.services import post_message

    vase = start_conversation(buyer=buyer, artisan=artisan, subject="Vase")
    post_message(
        conversation=vase,
        author=None,
        kind="order_update",
        payload={"card": "order", "order": "AT-7GSY99", "status": "shipped"},
    )
    assert listed_ids(artisan_client.get("/inbox/?q=at-7gsy99")) == [vase.pk]


def test_a_milestone_is_previewed_in_the_readers_language(artisan_client, artisan, buyer):
    from conversations.services import post_message

    artisan.preferred_language = "fr"
    artisan.save()
    vase = start_conversation(buyer=buyer, artisan=artisan, subject="Vase")
    post_message(
        conversation=vase,
        author=None,
        kind="system",
        payload={"event": "offer.accepted", "offer_id": 1, "version": 2, "order": "AT-7GSY99"},
    )
    page = artisan_client.get("/inbox/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Offre v2 acceptée — commande AT-7GSY99" in page


def test_filter_by_status_and_label(artisan_client, artisan, buyer, other_buyer):
    vase = start_conversation(buyer=buyer, artisan=artisan, subject="Vase")
    bowl = start_conversation(buyer=other_buyer, artisan=artisan, subject="Bowl")
    say(vase, buyer, "hi")
    say(bowl, other_buyer, "hi")

    # When I archive one and label the other through the pages
    assert (
        artisan_client.post(f"/chat/{vase.pk}/status/", {"status": "archived"}).status_code == 302
    )
    assert (
        artisan_client.post(f"/chat/{bowl.pk}/labels/", {"name": "custom order"}).status_code == 302
    )

    # Then the filters find each
    assert listed_ids(artisan_client.get("/inbox/?status=archived")) == [vase.pk]
    assert listed_ids(artisan_client.get("/inbox/?label=custom+order")) == [bowl.pk]
    assert ConversationLabel.objects.get(conversation=bowl).owner == artisan


def test_empty_inbox_explains_itself(artisan_client):
    response = artisan_client.get("/inbox/")
    assert (
        "No conversations yet — when a buyer writes, it shows up here." in response.content.decode()
    )


def test_someone_elses_conversation_is_404(artisan_client, other_artisan, buyer, other_buyer):
    theirs = start_conversation(buyer=buyer, artisan=other_artisan)
    assert artisan_client.get(f"/inbox/{theirs.pk}/").status_code == 404
    # …and for a buyer who is not part of it either
    assert signed_in(other_buyer).get(f"/messages/{theirs.pk}/").status_code == 404
    assert artisan_client.get(f"/chat/{theirs.pk}/history/?before_seq=5").status_code == 404
    assert artisan_client.post(f"/chat/{theirs.pk}/labels/", {"name": "x"}).status_code == 404


def test_conversation_page_embeds_history_and_config(artisan_client, artisan, buyer, conversation):
    say(conversation, buyer, "Hola, ¿tienes este jarrón en azul?")
    say(conversation, artisan, "Sí, claro")

    response = artisan_client.get(f"/inbox/{conversation.pk}/")

    assert response.status_code == 200
    config = chat_config(response)
    assert config["conversation"] == conversation.pk
    assert config["me"] == artisan.pk
    assert [m["seq"] for m in config["messages"]] == [1, 2]
    assert config["other"]["name"] == "Bea Buyer"
    html = response.content.decode()
    assert 'role="log"' in html and 'aria-live="polite"' in html
    assert '<label for="chat-text"' in html


def test_buyers_are_sent_from_inbox_to_messages(buyer_client, conversation):
    response = buyer_client.get("/inbox/")
    assert response.status_code == 302 and response["Location"] == "/messages/"
    response = buyer_client.get(f"/inbox/{conversation.pk}/")
    assert response["Location"] == f"/messages/{conversation.pk}/"
    assert buyer_client.get(f"/messages/{conversation.pk}/").status_code == 200


def test_artisan_without_2fa_is_sent_to_setup(artisan_without_2fa):
    response = signed_in(artisan_without_2fa).get("/inbox/")
    assert response.status_code == 302
    assert "/accounts/2fa/setup/" in response["Location"]


def test_signed_out_visitors_are_sent_to_login(client):
    response = client.get("/inbox/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/messages/").status_code == 302


def test_history_endpoint_pages_backwards(buyer_client, buyer, artisan, conversation):
    for i in range(1, 6):
        say(conversation, buyer if i % 2 else artisan, f"m{i}")
    data = buyer_client.get(f"/chat/{conversation.pk}/history/?before_seq=4").json()
    assert [m["text"] for m in data["messages"]] == ["m1", "m2", "m3"]
    assert data["has_more"] is False


def test_report_and_block_from_the_conversation(buyer_client, buyer, artisan, conversation):
    message = say(conversation, artisan, "Pay me by bank transfer instead")

    report = buyer_client.post(
        f"/chat/messages/{message.pk}/report/",
        {"reason": "Asks to pay outside Atelier"},
        HTTP_ACCEPT="application/json",
    )
    assert report.status_code == 200 and report.json()["ok"] is True
    assert Report.objects.get(message=message).reason == "Asks to pay outside Atelier"

    block = buyer_client.post(f"/chat/{conversation.pk}/block/")
    assert block.status_code == 302
    assert Block.objects.filter(blocker=buyer, blocked=artisan).exists()


def test_reporting_your_own_message_is_refused_clearly(buyer_client, buyer, conversation):
    message = say(conversation, buyer, "my own words")
    response = buyer_client.post(
        f"/chat/messages/{message.pk}/report/", {"reason": "x"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400
    assert response.json()["message"] == "You cannot report your own message."


def test_quick_replies_crud(artisan_client, artisan):
    created = artisan_client.post(
        "/inbox/quick-replies/", {"title": "Shipping", "text": "I ship within 3 days."}
    )
    assert created.status_code == 302
    reply = artisan.quick_replies.get()
    artisan_client.post(
        f"/inbox/quick-replies/{reply.pk}/", {"title": "Shipping", "text": "2 days."}
    )
    reply.refresh_from_db()
    assert reply.text == "2 days."
    page = artisan_client.get("/inbox/quick-replies/")
    assert "Shipping" in page.content.decode()
    artisan_client.post(f"/inbox/quick-replies/{reply.pk}/delete/")
    assert not artisan.quick_replies.exists()


def test_quick_replies_of_others_are_404(artisan_client, other_artisan):
    theirs = other_artisan.quick_replies.create(title="t", text="x")
    assert artisan_client.get(f"/inbox/quick-replies/{theirs.pk}/").status_code == 404
    assert artisan_client.post(f"/inbox/quick-replies/{theirs.pk}/delete/").status_code == 404


def test_away_and_notification_settings_are_saved(artisan_client, artisan):
    response = artisan_client.post(
        "/inbox/settings/",
        {
            "email_enabled": "on",
            "quiet_start": "22:00",
            "quiet_end": "07:00",
            "away-away_enabled": "on",
            "away-away_message": "Back on Monday!",
            "away-usual_response_hours": "12",
        },
    )
    assert response.status_code == 302
    prefs = NotificationSettings.objects.get(user=artisan)
    assert prefs.away_enabled and prefs.away_message == "Back on Monday!"
    assert prefs.usual_response_hours == 12
    assert prefs.telegram_enabled is False
    assert prefs.quiet_start.hour == 22 and prefs.quiet_end.hour == 7


def test_away_without_message_is_refused(artisan_client, artisan):
    response = artisan_client.post(
        "/inbox/settings/",
        {"away-away_enabled": "on", "away-away_message": "", "away-usual_response_hours": "24"},
    )
    assert response.status_code == 400
    assert "Write the message buyers will receive." in response.content.decode()
    assert not NotificationSettings.objects.filter(user=artisan, away_enabled=True).exists()


def test_buyer_settings_have_no_away_section(buyer_client, buyer):
    page = buyer_client.get("/messages/settings/")
    assert "Away reply" not in page.content.decode()
    response = buyer_client.post(
        "/messages/settings/", {"quiet_start": "22:00", "quiet_end": "", "email_enabled": "on"}
    )
    assert response.status_code == 400  # half-set quiet hours
    assert "Set both the start and the end" in response.content.decode()


def test_hidden_message_keeps_only_its_frame_in_page_config(
    buyer_client, buyer, artisan, admin_user, conversation
):
    from conversations.services import hide_message

    message = say(conversation, artisan, "something bad")
    hide_message(message=message, moderator=admin_user)
    config = chat_config(buyer_client.get(f"/messages/{conversation.pk}/"))
    assert config["messages"][0]["hidden"] is True
    assert config["messages"][0]["text"] == ""
    assert "something bad" not in json.dumps(config)
    assert Message.objects.get(pk=message.pk).text == "something bad"


def test_artisan_hands_the_conversation_back_to_the_assistant(client, artisan, buyer):
    from conversations.services import set_bot_active, start_conversation

    conversation = start_conversation(buyer=buyer, artisan=artisan, subject="Vase")
    set_bot_active(conversation=conversation, active=False)
    client.force_login(artisan)
    page = client.get(f"/inbox/{conversation.pk}/").content.decode()
    assert "Hand back to the assistant" in page
    response = client.post(f"/chat/{conversation.pk}/hand-back/")
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.bot_active is True
    # the buyer cannot do it
    client.force_login(buyer)
    set_bot_active(conversation=conversation, active=False)
    client.post(f"/chat/{conversation.pk}/hand-back/")
    conversation.refresh_from_db()
    assert conversation.bot_active is False
