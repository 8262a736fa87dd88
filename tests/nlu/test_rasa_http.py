"""RasaHTTPNLU against a loopback Rasa stand-in."""

from __future__ import annotations

import pytest

from nlu.interface import (
    FALLBACK_INTENT,
    BotReply,
    Button,
    Entity,
    IntentScore,
    NLUEngine,
    NLUUnavailable,
)
from nlu.rasa_http import RasaHTTPNLU
from tests.nlu.rasa_standin import free_port, running_rasa_standin


@pytest.fixture
def rasa():
    with running_rasa_standin() as standin:
        yield standin


def test_parse_maps_rasa_json_onto_our_result(rasa):
    # Given a Rasa server that recognises an order status question
    client = RasaHTTPNLU(rasa.base_url + "/", timeout=2)
    # When a message is parsed
    result = client.parse("where is AT-7K2Q9?", lang="en")
    # Then the request is Rasa's /model/parse with the text
    assert rasa.requests == [("/model/parse", {"text": "where is AT-7K2Q9?"})]
    # And the result carries the intent, one entity per span, and the ranking
    assert (result.intent, result.confidence, result.is_fallback) == ("order_status", 0.97, False)
    assert result.entities == (Entity("order_ref", "AT-7K2Q9", 9, 17),)
    assert result.ranking == (IntentScore("order_status", 0.97), IntentScore("checkout", 0.02))
    assert isinstance(client, NLUEngine)


def test_rasa_nlu_fallback_is_reported_as_out_of_scope(rasa):
    rasa.parse_reply = {
        "text": "blorf",
        "intent": {"name": "nlu_fallback", "confidence": 0.4},
        "entities": [],
        "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.4}],
    }
    result = RasaHTTPNLU(rasa.base_url).parse("blorf")
    assert (result.intent, result.is_fallback) == (FALLBACK_INTENT, True)


def test_rest_webhook_returns_replies_with_buttons_images_and_custom(rasa):
    # When a message goes through the REST channel with metadata
    replies = RasaHTTPNLU(rasa.base_url).rasa_rest_webhook(
        "buyer-42", "hello", metadata={"lang": "fr"}
    )
    # Then the request follows the REST channel's format
    assert rasa.requests == [
        (
            "/webhooks/rest/webhook",
            {"sender": "buyer-42", "message": "hello", "metadata": {"lang": "fr"}},
        )
    ]
    # And each bot message becomes one reply
    assert replies == [
        BotReply(
            text="Hello! I'm the Atelier assistant.",
            buttons=(Button("Track an order", "/order_status"),),
        ),
        BotReply(image="https://example.test/vase.jpg"),
        BotReply(custom={"product_ids": [3, 5]}),
    ]


async def test_async_calls_match_the_sync_ones(rasa):
    client = RasaHTTPNLU(rasa.base_url, timeout=2)
    assert await client.aparse("where is AT-7K2Q9?") == client.parse("where is AT-7K2Q9?")
    assert await client.arasa_rest_webhook("buyer-42", "hi") == client.rasa_rest_webhook(
        "buyer-42", "hi"
    )


def test_connection_refused_raises_nlu_unavailable():
    # Given no server on the port
    client = RasaHTTPNLU(f"http://127.0.0.1:{free_port()}", timeout=1)
    # Then both calls fail with our error, naming the cause
    with pytest.raises(NLUUnavailable, match="connection failed"):
        client.parse("hello")
    with pytest.raises(NLUUnavailable, match="connection failed"):
        client.rasa_rest_webhook("buyer-42", "hello")


async def test_async_connection_refused_raises_nlu_unavailable():
    client = RasaHTTPNLU(f"http://127.0.0.1:{free_port()}", timeout=1)
    with pytest.raises(NLUUnavailable, match="connection failed"):
        await client.aparse("hello")


def test_slow_server_times_out(rasa):
    rasa.delay_seconds = 0.5
    with pytest.raises(NLUUnavailable, match="timed out"):
        RasaHTTPNLU(rasa.base_url, timeout=0.1).parse("hello")


@pytest.mark.parametrize(
    ("status", "reply", "message"),
    [
        (500, {"error": "boom"}, "HTTP 500"),
        (200, b"<html>not json</html>", "invalid JSON"),
        (200, ["not", "an", "object"], "not an object"),
    ],
)
def test_unusable_answers_raise_nlu_unavailable(rasa, status, reply, message):
    rasa.status = status
    rasa.parse_reply = reply
    with pytest.raises(NLUUnavailable, match=message):
        RasaHTTPNLU(rasa.base_url).parse("hello")
