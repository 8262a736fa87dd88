"""The rasa-sdk action server, called over HTTP exactly as Rasa 3.6 calls it.

rasa_sdk's own Sanic app (``rasa_sdk.endpoint.create_app``, what ``python -m rasa_sdk
--actions nlu.actions`` serves) runs on a free loopback port in this process, so the
actions use the test database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conversations.models import Channel, Conversation
from conversations.services import start_conversation
from tests.bots.support import make_product, make_shop, running_action_server

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # rasa-sdk 3.21 warns on every call from Rasa 3.6; the pair works (docs/bots.md).
    pytest.mark.filterwarnings("ignore:Your versions of rasa and rasa_sdk:UserWarning"),
]

OUR_ACTIONS = [
    "action_checkout_link",
    "action_custom_request",
    "action_order_status",
    "action_search_products",
    "action_show_artisan",
    "action_subscribe_campaigns",
    "action_talk_to_artisan",
    "action_unsubscribe_campaigns",
]


@pytest.fixture(scope="module")
def action_server() -> Iterator[str]:
    with running_action_server() as url:
        yield url


def rasa_call(
    action: str,
    *,
    sender_id: str,
    text: str,
    intent: str,
    entities: list[dict[str, Any]],
    slots: dict | None = None,
) -> dict[str, Any]:
    """The body Rasa 3.6 POSTs to the action endpoint (trimmed to what matters)."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.98},
        "entities": entities,
        "intent_ranking": [{"name": intent, "confidence": 0.98}],
    }
    return {
        "next_action": action,
        "sender_id": sender_id,
        "tracker": {
            "sender_id": sender_id,
            "slots": slots or {},
            "latest_message": latest,
            "events": [{"event": "user", "text": text, "parse_data": latest}],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
        "domain": {
            "intents": [intent],
            "entities": [e["entity"] for e in entities],
            "slots": {},
            "responses": {},
            "actions": OUR_ACTIONS,
        },
        "version": "3.6.21",
    }


@pytest.fixture
def shop_chat(buyer) -> Conversation:
    return start_conversation(buyer=buyer, artisan=None, channel=Channel.WIDGET)


def test_lists_the_actions_declared_in_the_domain(action_server) -> None:
    listed = httpx.get(f"{action_server}/actions", timeout=5).json()
    assert sorted(item["name"] for item in listed) == OUR_ACTIONS


def test_search_products_returns_cards_for_the_conversation(
    action_server, shop_chat, artisan
) -> None:
    make_shop(artisan)
    product = make_product(artisan)
    body = rasa_call(
        "action_search_products",
        sender_id=f"conversation-{shop_chat.pk}",
        text="red wool scarf",
        intent="search_products",
        entities=[
            {"entity": "colour", "value": "red", "start": 0, "end": 3},
            {"entity": "material", "value": "wool", "start": 4, "end": 8},
            {"entity": "product_type", "value": "scarf", "start": 9, "end": 14},
        ],
        # Old criteria in slots must not narrow a new search.
        slots={"region": "Brittany", "order_ref": None},
    )

    response = httpx.post(f"{action_server}/webhook", json=body, timeout=10)

    assert response.status_code == 200
    result = response.json()
    assert result["events"] == []
    [said] = result["responses"]
    assert said["text"] == "Here is what I found for “scarf wool red”:"
    assert [card["product_id"] for card in said["custom"]["cards"]] == [product.pk]


def test_talk_to_artisan_hands_the_conversation_over(action_server, shop_chat, artisan) -> None:
    make_shop(artisan)
    make_product(artisan)
    body = rasa_call(
        "action_talk_to_artisan",
        sender_id=f"conversation-{shop_chat.pk}",
        text="I'd like to talk to Ana's Looms",
        intent="talk_to_artisan",
        entities=[{"entity": "artisan_name", "value": "Ana's Looms", "start": 20, "end": 31}],
    )

    [said] = httpx.post(f"{action_server}/webhook", json=body, timeout=10).json()["responses"]

    assert (
        said["text"]
        == "I've passed your message to Ana Artisan of Ana's Looms. They will answer you here."
    )
    shop_chat.refresh_from_db()
    assert shop_chat.artisan_id == artisan.pk and shop_chat.bot_active is False


def test_order_status_never_shows_another_buyers_order(action_server, shop_chat, artisan) -> None:
    from commerce.services.orders import create_product_order
    from tests.conftest import make_user

    make_shop(artisan)
    product = make_product(artisan)
    someone = make_user("someone@example.com")
    order = create_product_order(buyer=someone, product=product, selections={})
    body = rasa_call(
        "action_order_status",
        sender_id=f"conversation-{shop_chat.pk}",
        text=f"where is {order.reference}",
        intent="order_status",
        entities=[],
        slots={"order_ref": order.reference},
    )

    [said] = httpx.post(f"{action_server}/webhook", json=body, timeout=10).json()["responses"]

    assert (
        said["text"]
        == f"I can't find an order {order.reference} on your account. Check the reference?"
    )


def test_unknown_sender_and_unknown_action(action_server) -> None:
    lost = rasa_call(
        "action_checkout_link", sender_id="telegram-1", text="pay", intent="checkout", entities=[]
    )
    [said] = httpx.post(f"{action_server}/webhook", json=lost, timeout=10).json()["responses"]
    assert said["text"] == "Sorry, I lost track of this conversation. Please write again."

    unknown = rasa_call(
        "action_launch_rocket", sender_id="conversation-1", text="x", intent="help", entities=[]
    )
    response = httpx.post(f"{action_server}/webhook", json=unknown, timeout=10)
    assert response.status_code == 404
