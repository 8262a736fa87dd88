"""The shop bot's dialogue (``respond``) as the web widget uses it: a buyer message in a
shop-bot conversation → bot reply messages (with cards) in the same conversation."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from commerce.models import Product
from conversations.models import Channel, Conversation, Message, MessageKind
from conversations.services import post_message, start_conversation
from core.models import Consent
from nlu.dialogue import hand_back_to_bot, respond
from nlu.dialogue.cards import intent_payload
from nlu.dialogue.engine import parse_intent_payload
from nlu.models import BotConversationState
from tests.bots.support import make_product, make_shop
from tests.nlu.rasa_standin import free_port, running_rasa_standin

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _embedded_engine(settings):
    settings.NLU_ENGINE = "embedded"
    settings.BOT_HANDOVER_IDLE_MINUTES = 30


@pytest.fixture
def product(artisan) -> Product:
    make_shop(artisan)
    return make_product(artisan)


@pytest.fixture
def widget_chat(buyer) -> Conversation:
    return start_conversation(buyer=buyer, artisan=None, channel=Channel.WIDGET)


def bot_messages(conversation: Conversation) -> list[Message]:
    return list(conversation.messages.filter(kind=MessageKind.BOT).order_by("seq"))


def say(conversation: Conversation, buyer, text: str) -> Message:
    return post_message(
        conversation=conversation, author=buyer, text=text, channel=Channel.WIDGET
    ).message


def test_widget_search_posts_a_bot_reply_with_product_cards(
    widget_chat, buyer, product, artisan
) -> None:
    # When the buyer asks the shop bot in the widget
    say(widget_chat, buyer, "Do you have red wool scarves?")

    # Then one bot message answers, carrying the product card with its buttons
    [reply] = bot_messages(widget_chat)
    assert reply.author_id is None and reply.channel == Channel.WIDGET
    assert reply.text == "Here is what I found for “scarf wool red”:"
    [card] = reply.payload["cards"]
    assert card["type"] == "product"
    assert card["product_id"] == product.pk
    assert card["title"] == "Red wool scarf"
    assert card["price_display"] == "€35.00"
    assert card["artisan"] == {"id": artisan.pk, "name": "Ana Artisan", "shop": "Ana's Looms"}
    # Links are site-relative: the widget never sends the buyer to another host
    assert card["image_url"].startswith("/media/") and card["image_url"].endswith(".png")
    assert card["url"] == f"/shop/{product.shop.slug}/{product.slug}/"
    assert "://" not in json.dumps(reply.payload)
    assert [b["title"] for b in card["buttons"]] == ["Details", "Ask the artisan", "Buy"]
    assert card["buttons"][0]["payload"] == f'/product_details{{"product_id":{product.pk}}}'
    assert card["buttons"][2]["url"] == card["url"]


def test_a_clicked_payload_skips_nlu(widget_chat, buyer, product) -> None:
    # The widget sends a payload button's payload as the buyer's text
    say(widget_chat, buyer, intent_payload("product_details", product_id=product.pk))

    [reply] = bot_messages(widget_chat)
    assert reply.text.splitlines()[:2] == ["Red wool scarf", "€35.00"]
    assert reply.payload["cards"][0]["product_id"] == product.pk


def test_greeting_offers_the_main_menu(widget_chat, buyer) -> None:
    say(widget_chat, buyer, "hello")

    [reply] = bot_messages(widget_chat)
    assert reply.payload == {
        "buttons": [
            {"title": "Browse products", "payload": "/search_products"},
            {"title": "Track an order", "payload": "/order_status"},
            {"title": "Help", "payload": "/help"},
        ]
    }


def test_custom_request_hands_over_and_the_bot_stops_until_handed_back(
    widget_chat, buyer, artisan, product
) -> None:
    # Given the buyer looked at a piece (the bot remembers its artisan)
    say(widget_chat, buyer, "red wool scarf")
    # When they ask for something custom
    say(widget_chat, buyer, "can you make a custom scarf for me")

    # Then the conversation is handed to the artisan and the bot says so
    widget_chat.refresh_from_db()
    assert widget_chat.artisan_id == artisan.pk and widget_chat.bot_active is False
    handover = bot_messages(widget_chat)[-1]
    assert (
        handover.text
        == "I've passed your message to Ana Artisan of Ana's Looms. They will answer you here."
    )
    assert handover.payload["handover"]["reason"] == "custom_request"
    assert widget_chat.participants.filter(user=artisan, role="artisan").exists()

    # When the buyer writes again, the bot stays silent: the artisan answers
    replies_before = len(bot_messages(widget_chat))
    say(widget_chat, buyer, "about 2 metres, in blue")
    assert len(bot_messages(widget_chat)) == replies_before

    # When the artisan hands back, the bot answers again
    hand_back_to_bot(conversation=widget_chat, artisan=artisan)
    say(widget_chat, buyer, "help")
    assert bot_messages(widget_chat)[-1].text.startswith("You can ask me to find products")


def test_idle_handover_goes_back_to_the_bot(widget_chat, buyer, artisan, product) -> None:
    say(widget_chat, buyer, "red wool scarf")
    say(widget_chat, buyer, "I want to talk to the artisan")
    widget_chat.refresh_from_db()
    assert widget_chat.bot_active is False
    # Given nothing was said for longer than BOT_HANDOVER_IDLE_MINUTES
    long_ago = timezone.now() - timedelta(minutes=45)
    widget_chat.messages.update(created_at=long_ago)
    BotConversationState.objects.filter(conversation=widget_chat).update(handed_over_at=long_ago)

    # When the buyer writes
    say(widget_chat, buyer, "hello")

    # Then the bot is back
    widget_chat.refresh_from_db()
    assert widget_chat.bot_active is True
    assert bot_messages(widget_chat)[-1].text.startswith("Hello! I'm the Atelier assistant.")


def test_a_conversation_that_began_with_an_artisan_never_gets_bot_replies(
    buyer, artisan, product
) -> None:
    conversation = start_conversation(buyer=buyer, artisan=artisan)
    conversation.messages.update(created_at=timezone.now() - timedelta(days=3))

    say(conversation, buyer, "hello")

    assert bot_messages(conversation) == []


def test_talk_to_artisan_without_any_artisan_in_view_asks_which(widget_chat, buyer) -> None:
    say(widget_chat, buyer, "I want to talk to the artisan")

    [reply] = bot_messages(widget_chat)
    assert reply.text.startswith("Which artisan would you like to talk to?")
    widget_chat.refresh_from_db()
    assert widget_chat.bot_active is True and widget_chat.artisan_id is None


def test_widget_campaign_subscription_records_email_consent(widget_chat, buyer) -> None:
    say(widget_chat, buyer, "subscribe me to your news")

    consent = Consent.objects.get(user=buyer)
    assert (consent.purpose, consent.granted, consent.source) == (
        Consent.Purpose.MARKETING_EMAIL,
        True,
        "widget",
    )


def test_respond_is_silent_when_the_bot_is_not_active(widget_chat, buyer, artisan) -> None:
    message = say(widget_chat, buyer, "hello")
    widget_chat.bot_active = False

    assert respond(widget_chat, message) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/search_products", ("search_products", {})),
        ('/order_status{"order_ref":"AT-ABC234"}', ("order_status", {"order_ref": ["AT-ABC234"]})),
        ("/order_status{not json", None),
        ("search products", None),
    ],
)
def test_parse_intent_payload(text, expected) -> None:
    assert parse_intent_payload(text) == expected


# --- the Rasa engine --------------------------------------------------------------------------------


def test_rasa_engine_goes_through_the_rest_channel_and_merges_split_replies(
    settings, widget_chat, buyer
) -> None:
    with running_rasa_standin() as rasa:
        settings.NLU_ENGINE = "rasa"
        settings.RASA_URL = rasa.base_url
        rasa.webhook_reply = [
            {"recipient_id": f"conversation-{widget_chat.pk}", "text": "Here is what I found:"},
            {
                "recipient_id": f"conversation-{widget_chat.pk}",
                "custom": {"cards": [{"type": "product", "product_id": 1}]},
            },
        ]

        message = say(widget_chat, buyer, "red wool scarf")

    [(path, body)] = rasa.requests
    assert path == "/webhooks/rest/webhook"
    assert body["sender"] == f"conversation-{widget_chat.pk}"
    assert body["message"] == "red wool scarf"
    assert body["metadata"]["conversation_id"] == widget_chat.pk
    assert body["metadata"]["message_id"] == message.pk
    [reply] = bot_messages(widget_chat)
    assert reply.text == "Here is what I found:"
    assert reply.payload == {"cards": [{"type": "product", "product_id": 1}]}


def test_rasa_unreachable_falls_back_to_the_embedded_dialogue(settings, widget_chat, buyer) -> None:
    settings.NLU_ENGINE = "rasa"
    settings.RASA_URL = f"http://127.0.0.1:{free_port()}"
    settings.RASA_TIMEOUT = 1.0

    say(widget_chat, buyer, "hello")

    assert bot_messages(widget_chat)[-1].text.startswith("Hello! I'm the Atelier assistant.")
