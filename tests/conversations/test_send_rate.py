"""The send-rate limit lives in the message service: one budget per person for every channel.

The socket answers with its ``rate_limited`` error frame, the JSON API with 429, a
translated message and ``Retry-After``; a retry of a stored ``client_id`` is never refused.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from conversations.models import Channel, Message, MessageKind
from conversations.services import SendRateLimited, post_message
from tests.conversations.conftest import connect, receive_type, ws_client

BASE = "/api/conversations"


@pytest.fixture
def three_per_minute(settings):
    settings.MESSAGE_SEND_RATE = "3/m"


def _api_send(client: Client, conversation_id: int, client_id: str, **headers):
    return client.post(
        f"{BASE}/{conversation_id}/messages/",
        {"client_id": client_id, "text": "hello"},
        content_type="application/json",
        **headers,
    )


@pytest.mark.django_db
def test_the_api_is_limited_with_429_retry_after_and_a_clear_message(
    client, buyer, conversation, three_per_minute
):
    client.force_login(buyer)
    # Given three messages sent through the API within the window
    for i in range(3):
        assert _api_send(client, conversation.pk, f"api-{i}").status_code == 200
    # When a fourth new message is sent
    refused = _api_send(client, conversation.pk, "api-3")
    # Then it is refused with 429, a wait the client can honour, and nothing is stored
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "rate_limited"
    assert body["message"].startswith("You are sending messages too fast. Try again in")
    assert body["retry_after"] > 0
    assert int(refused["Retry-After"]) >= 1
    assert not Message.objects.filter(client_id="api-3").exists()
    assert Message.objects.filter(author=buyer).count() == 3


@pytest.mark.django_db
def test_the_api_refusal_is_in_the_readers_language(client, buyer, conversation, three_per_minute):
    buyer.preferred_language = "fr"
    buyer.save(update_fields=["preferred_language"])
    client.force_login(buyer)
    for i in range(3):
        _api_send(client, conversation.pk, f"fr-{i}")
    refused = _api_send(client, conversation.pk, "fr-3")
    assert refused.status_code == 429
    assert refused.json()["message"].startswith("Vous envoyez des messages trop vite.")


@pytest.mark.django_db
def test_an_api_retry_of_a_stored_client_id_is_never_refused(
    client, buyer, conversation, three_per_minute
):
    client.force_login(buyer)
    for i in range(3):
        _api_send(client, conversation.pk, f"r-{i}")
    assert _api_send(client, conversation.pk, "r-new").status_code == 429
    # When the client retries messages it already sent (it never saw the answers)
    for i in range(3):
        again = _api_send(client, conversation.pk, f"r-{i}")
        # Then each is answered with the stored message, not refused and not duplicated
        assert again.status_code == 200
        assert again.json()["duplicate"] is True
    assert Message.objects.filter(author=buyer).count() == 3


@pytest.mark.django_db
def test_every_channel_spends_the_same_budget(client, buyer, conversation, three_per_minute):
    # Given two messages from Telegram (through the same service) and one from the API
    for i in range(2):
        post_message(
            conversation=conversation,
            author=buyer,
            text="hi",
            client_id=f"tg-{i}",
            channel=Channel.TELEGRAM,
        )
    client.force_login(buyer)
    assert _api_send(client, conversation.pk, "web-0").status_code == 200
    # Then the budget is spent on both: the API and Telegram are refused alike
    assert _api_send(client, conversation.pk, "web-1").status_code == 429
    with pytest.raises(SendRateLimited) as refused:
        post_message(
            conversation=conversation,
            author=buyer,
            text="hi",
            client_id="tg-2",
            channel=Channel.TELEGRAM,
        )
    assert refused.value.code == "rate_limited"
    assert refused.value.retry_after > 0


@pytest.mark.django_db
def test_each_person_has_their_own_budget_and_system_lines_are_not_limited(
    buyer, artisan, conversation, three_per_minute
):
    for i in range(3):
        post_message(conversation=conversation, author=buyer, text="hi", client_id=f"b-{i}")
    # The artisan still writes, and cards/system lines are never refused
    assert post_message(conversation=conversation, author=artisan, text="hello").created
    for _ in range(5):
        assert post_message(
            conversation=conversation, author=None, kind=MessageKind.SYSTEM, text="note"
        ).created


@pytest.mark.django_db(transaction=True)
async def test_the_socket_and_the_api_share_one_budget(buyer, conversation, three_per_minute):
    async with ws_client(buyer) as ws:
        await connect(ws)
        # Given two messages over the socket
        for i in range(2):
            await ws.send_json_to(
                {
                    "type": "message.send",
                    "conversation": conversation.pk,
                    "client_id": f"ws-{i}",
                    "text": "hi",
                }
            )
            assert (await receive_type(ws, "message.ack"))["duplicate"] is False

        # and one through the JSON API, in another tab
        def api_send() -> int:
            client = Client()
            client.force_login(buyer)
            return _api_send(client, conversation.pk, "api-0").status_code

        assert await database_sync_to_async(api_send)() == 200
        # When the socket sends a fourth new message
        await ws.send_json_to(
            {
                "type": "message.send",
                "conversation": conversation.pk,
                "client_id": "ws-2",
                "text": "hi",
            }
        )
        # Then it gets the socket's rate-limit error frame
        error = await receive_type(ws, "error")
        assert error["code"] == "rate_limited"
        assert error["client_id"] == "ws-2"
        assert error["retry_after"] > 0
        # and a retry of the message sent through the API is still acknowledged
        await ws.send_json_to(
            {
                "type": "message.send",
                "conversation": conversation.pk,
                "client_id": "api-0",
                "text": "hello",
            }
        )
        ack = await receive_type(ws, "message.ack")
        assert ack["duplicate"] is True
    assert await database_sync_to_async(Message.objects.filter(author=buyer).count)() == 3


@pytest.mark.parametrize("rate", ["twenty", "20 per 10s", "0/10s"])
def test_a_send_rate_that_cannot_work_is_a_system_check_error(settings, rate):
    from conversations.ratelimit import check_send_rate

    settings.MESSAGE_SEND_RATE = rate
    [error] = check_send_rate()
    assert error.id == "conversations.E001"
    assert "MESSAGE_SEND_RATE" in error.msg


def test_the_default_send_rate_passes_the_check(settings):
    from conversations.ratelimit import check_send_rate

    settings.MESSAGE_SEND_RATE = "20/10s"
    assert check_send_rate() == []


def test_with_the_shared_cache_down_sending_still_works_and_stays_limited(monkeypatch):
    from conversations import ratelimit

    class UnavailableCache:
        def get(self, *args, **kwargs):
            raise ConnectionError("redis is down")

        set = get

    monkeypatch.setattr(ratelimit, "cache", UnavailableCache())
    monkeypatch.setattr(ratelimit, "_local_buckets", None)
    # Given a shared cache that refuses every call, tokens are counted in this process
    for _ in range(2):
        ratelimit.consume_token("send:outage-test", "2/m", now=1000.0)
    with pytest.raises(ratelimit.RateLimited) as refused:
        ratelimit.consume_token("send:outage-test", "2/m", now=1001.0)
    assert refused.value.retry_after == pytest.approx(29.0)


@pytest.mark.django_db(transaction=True)
async def test_the_socket_refusal_is_worded_in_the_senders_language(buyer, conversation, settings):
    settings.MESSAGE_SEND_RATE = "1/h"
    buyer.preferred_language = "fr"
    await database_sync_to_async(buyer.save)(update_fields=["preferred_language"])
    async with ws_client(buyer) as ws:
        await connect(ws)
        for client_id in ("fr-1", "fr-2"):
            await ws.send_json_to(
                {
                    "type": "message.send",
                    "conversation": conversation.pk,
                    "client_id": client_id,
                    "text": "salut",
                }
            )
        error = await receive_type(ws, "error")
    assert error["code"] == "rate_limited"
    assert error["message"].startswith("Vous envoyez des messages trop vite.")
