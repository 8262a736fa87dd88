"""The widget's iframe page and its start endpoint."""

from __future__ import annotations

import json
import re

import pytest

from conversations.models import Conversation
from tests.webchat.conftest import say

pytestmark = pytest.mark.django_db


def chat_config(response) -> dict:
    match = re.search(
        r'<script id="chat-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match
    return json.loads(match.group(1))


def test_signed_out_visitor_sees_a_sign_in_prompt(client, artisan):
    response = client.get(f"/widget/?artisan={artisan.pk}&page=/shop/rosa/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Sign in to chat with Ana Artisan" in html
    assert 'href="/accounts/login/?next=%2Fshop%2Frosa%2F" target="_top"' in html
    assert "chat-config" not in html


def test_foreign_page_parameter_is_not_used_as_login_next(client, artisan):
    html = client.get(f"/widget/?artisan={artisan.pk}&page=https://evil.example/").content.decode()
    assert 'href="/accounts/login/?next=%2F" target="_top"' in html


def test_widget_may_be_framed_by_this_site_only(buyer_client, artisan):
    response = buyer_client.get(f"/widget/?artisan={artisan.pk}")
    assert response["X-Frame-Options"] == "SAMEORIGIN"


def test_opening_the_widget_creates_no_conversation(buyer_client, artisan):
    response = buyer_client.get(f"/widget/?artisan={artisan.pk}&product=7")
    config = chat_config(response)
    assert config["conversation"] is None
    assert config["start"] == {
        "artisan": artisan.pk,
        "context_type": "product",
        "context_id": 7,
        "subject": "",
    }
    assert not Conversation.objects.exists()


def test_first_message_starts_the_conversation_and_the_widget_continues_it(
    buyer_client, buyer, artisan
):
    response = buyer_client.post(
        "/widget/start/", {"artisan": artisan.pk, "context_type": "product", "context_id": "7"}
    )
    assert response.status_code == 200
    conversation = Conversation.objects.get(pk=response.json()["conversation"])
    assert (conversation.buyer, conversation.artisan, conversation.channel) == (
        buyer,
        artisan,
        "widget",
    )
    # The pair's one thread: the page's context travels as a card, not as the thread's key
    assert (conversation.context_type, conversation.context_id) == ("", None)
    say(conversation, artisan, "Hello from the workshop")

    config = chat_config(buyer_client.get(f"/widget/?artisan={artisan.pk}&product=7"))
    assert config["conversation"] == conversation.pk
    assert [m["text"] for m in config["messages"]] == ["Hello from the workshop"]
    # Asking again continues the same conversation
    again = buyer_client.post(
        "/widget/start/", {"artisan": artisan.pk, "context_type": "product", "context_id": "7"}
    )
    assert again.json()["conversation"] == conversation.pk
    # ... and so does the widget on any other page of the same artisan
    elsewhere = buyer_client.post("/widget/start/", {"artisan": artisan.pk})
    assert elsewhere.json()["conversation"] == conversation.pk


def test_no_artisan_means_the_shop_bot(buyer_client, buyer):
    response = buyer_client.post("/widget/start/", {})
    conversation = Conversation.objects.get(pk=response.json()["conversation"])
    assert conversation.artisan is None and conversation.bot_active


def test_unknown_artisan_is_a_clear_error(buyer_client, buyer):
    page = buyer_client.get("/widget/?artisan=999999")
    assert page.status_code == 404
    assert "This chat is not available" in page.content.decode()
    start = buyer_client.post("/widget/start/", {"artisan": "999999"})
    assert start.status_code == 404 and start.json()["code"] == "not_found"


def test_artisan_cannot_message_themself(artisan_client, artisan):
    response = artisan_client.post("/widget/start/", {"artisan": artisan.pk})
    assert response.status_code == 400
    assert response.json()["message"] == "You cannot message yourself."


def test_start_requires_a_session_and_csrf(client, buyer, artisan):
    assert client.post("/widget/start/", {"artisan": artisan.pk}).status_code == 401
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(buyer)
    assert strict.post("/widget/start/", {"artisan": artisan.pk}).status_code == 403


def test_demo_page_shows_the_one_tag_embed(client, artisan):
    html = client.get("/widget/demo/").content.decode()
    assert f'data-artisan="{artisan.pk}"' in html
    assert "/static/webchat/widget.js" in html
