"""The chat WebSocket, through the real ASGI stack (origin check, session auth, consumer).

Runs on the in-memory layer by default and on channels-redis + PostgreSQL in CI.
"""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async

from conversations.models import Message
from conversations.services import post_message, start_conversation
from tests.conftest import make_user
from tests.conversations.conftest import connect, receive_type, receive_until, ws_client

pytestmark = [pytest.mark.django_db(transaction=True)]


async def test_unauthenticated_socket_is_told_and_closed():
    async with ws_client(None) as ws:
        connected, _ = await ws.connect()
        assert connected
        frame = await ws.receive_json_from()
        assert frame["code"] == "not_authenticated"
        closed = await ws.receive_output()
        assert closed["type"] == "websocket.close"
        assert closed["code"] == 4401


async def test_foreign_origin_is_refused(buyer):
    async with ws_client(buyer, origin="https://evil.example") as ws:
        connected, _ = await ws.connect()
        assert not connected


async def test_send_ack_and_live_delivery_with_idempotent_retry(conversation, buyer, artisan):
    async with ws_client(buyer) as b, ws_client(artisan) as a:
        await connect(b)
        await connect(a)
        for ws in (a, b):
            await ws.send_json_to(
                {"type": "subscribe", "conversation": conversation.pk, "after_seq": 0}
            )
            sub = await receive_type(ws, "subscribed")
            assert sub["last_seq"] == 0
        await b.send_json_to(
            {
                "type": "message.send",
                "conversation": conversation.pk,
                "client_id": "u-1",
                "text": "Bonjour !",
            }
        )
        ack = await receive_type(b, "message.ack")
        assert ack["client_id"] == "u-1"
        assert ack["seq"] == 1
        assert ack["duplicate"] is False
        new = await receive_type(a, "message.new")
        assert new["message"]["text"] == "Bonjour !"
        assert new["message"]["seq"] == 1
        assert new["message"]["author"]["id"] == buyer.pk
        # the client retries (e.g. it never saw the ack): same message, no duplicate
        await b.send_json_to(
            {
                "type": "message.send",
                "conversation": conversation.pk,
                "client_id": "u-1",
                "text": "Bonjour !",
            }
        )
        again = await receive_type(b, "message.ack")
        assert again["duplicate"] is True
        assert again["id"] == ack["id"]
    assert await database_sync_to_async(Message.objects.count)() == 1


async def test_a_new_message_reaches_inbox_lists_only_where_the_thread_is_not_open(
    conversation, buyer, artisan
):
    """The artisan has the thread open in one tab and only the inbox list in another: the
    open tab gets message.new and no conversation.updated, the other tab the update."""
    async with (
        ws_client(buyer) as b,
        ws_client(artisan) as open_tab,
        ws_client(artisan) as list_tab,
    ):
        for ws in (b, open_tab, list_tab):
            await connect(ws)
        for ws in (b, open_tab):
            await ws.send_json_to({"type": "subscribe", "conversation": conversation.pk})
            await receive_type(ws, "subscribed")
        for n in (1, 2):
            await b.send_json_to(
                {
                    "type": "message.send",
                    "conversation": conversation.pk,
                    "client_id": f"tabs-{n}",
                    "text": f"Message {n}",
                }
            )
            ack = await receive_type(b, "message.ack")
            assert ack["seq"] == n
            update = await receive_type(list_tab, "conversation.updated")
            assert (update["conversation"], update["last_seq"]) == (conversation.pk, n)
        # Message 1's update was published before message 2 was sent: had the open tab been
        # sent it, it would come before message 2's message.new.
        seen = []
        while True:
            frame = await open_tab.receive_json_from(timeout=5)
            seen.append(frame["type"])
            if frame["type"] == "message.new" and frame["message"]["seq"] == 2:
                break
        assert "conversation.updated" not in seen
        assert seen.count("message.new") == 2
        # The buyer's own socket shows the thread too: no update for its own messages either
        await b.send_json_to({"type": "ping"})
        frames = []
        while (frame := await b.receive_json_from(timeout=5))["type"] != "pong":
            frames.append(frame["type"])
        assert "conversation.updated" not in frames


async def test_reconnecting_client_receives_everything_it_missed_in_order(
    conversation, buyer, artisan
):
    async with ws_client(buyer) as b:
        await connect(b)
        await b.send_json_to({"type": "subscribe", "conversation": conversation.pk})
        await receive_type(b, "subscribed")
        await b.send_json_to(
            {
                "type": "message.send",
                "conversation": conversation.pk,
                "client_id": "k1",
                "text": "first",
            }
        )
        await receive_type(b, "message.ack")
    # buyer offline: the artisan sends two messages
    for text in ("second", "third"):
        await database_sync_to_async(post_message)(
            conversation=conversation, author=artisan, text=text
        )
    async with ws_client(buyer) as b:
        await connect(b)
        await b.send_json_to({"type": "subscribe", "conversation": conversation.pk, "after_seq": 1})
        replayed = [await receive_type(b, "message.new"), await receive_type(b, "message.new")]
        assert [m["message"]["text"] for m in replayed] == ["second", "third"]
        assert [m["message"]["seq"] for m in replayed] == [2, 3]
        assert all(m["replay"] for m in replayed)
        sub = await receive_type(b, "subscribed")
        assert sub["last_seq"] == 3
        assert sub["has_more"] is False


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "malformed"),
        ("[1, 2]", "invalid"),
        (json.dumps({"type": "dance"}), "unknown_type"),
        (json.dumps({"type": "subscribe", "conversation": "7"}), "invalid"),
        (
            json.dumps({"type": "message.send", "conversation": 1, "text": "no client id"}),
            "invalid",
        ),
        (json.dumps({"type": "read", "conversation": 1, "seq": -4}), "invalid"),
        ("x" * (70 * 1024), "too_large"),
    ],
)
async def test_bad_frames_get_error_frames_and_the_socket_stays_open(
    buyer, conversation, raw, code
):
    async with ws_client(buyer) as ws:
        await connect(ws)
        await ws.send_to(text_data=raw)
        error = await receive_type(ws, "error")
        assert error["code"] == code
        assert error["message"]
        await ws.send_json_to({"type": "ping"})
        assert (await receive_type(ws, "pong"))["type"] == "pong"


async def test_forged_conversation_ids_reveal_nothing_and_store_nothing(conversation, artisan):
    stranger = await database_sync_to_async(make_user)("stranger@example.com")
    async with ws_client(stranger) as ws:
        await connect(ws)
        await ws.send_json_to({"type": "subscribe", "conversation": conversation.pk})
        assert (await receive_type(ws, "error"))["code"] == "not_found"
        await ws.send_json_to(
            {
                "type": "message.send",
                "conversation": conversation.pk,
                "client_id": "z",
                "text": "let me in",
            }
        )
        assert (await receive_type(ws, "error"))["code"] == "not_found"
        await ws.send_json_to({"type": "subscribe", "conversation": 999999})
        assert (await receive_type(ws, "error"))["code"] == "not_found"
    assert await database_sync_to_async(Message.objects.count)() == 0


async def test_oversize_text_is_refused_with_limit(conversation, buyer, settings):
    settings.MESSAGE_MAX_CHARS = 50
    async with ws_client(buyer) as ws:
        await connect(ws)
        await ws.send_json_to(
            {
                "type": "message.send",
                "conversation": conversation.pk,
                "client_id": "big",
                "text": "y" * 51,
            }
        )
        error = await receive_type(ws, "error")
        assert error["code"] == "too_long"
        assert error["client_id"] == "big"
        assert "50" in error["message"]


async def test_send_rate_limit_per_user(conversation, buyer, settings):
    settings.MESSAGE_SEND_RATE = "3/m"
    async with ws_client(buyer) as ws:
        await connect(ws)
        for i in range(3):
            await ws.send_json_to(
                {
                    "type": "message.send",
                    "conversation": conversation.pk,
                    "client_id": f"r{i}",
                    "text": "hi",
                }
            )
            await receive_type(ws, "message.ack")
        await ws.send_json_to(
            {
                "type": "message.send",
                "conversation": conversation.pk,
                "client_id": "r3",
                "text": "hi",
            }
        )
        error = await receive_type(ws, "error")
        assert error["code"] == "rate_limited"
        assert error["retry_after"] > 0
        # a retry of a stored message is still answered (no token needed)
        await ws.send_json_to(
            {
                "type": "message.send",
                "conversation": conversation.pk,
                "client_id": "r1",
                "text": "hi",
            }
        )
        assert (await receive_type(ws, "message.ack"))["duplicate"] is True


async def test_typing_and_read_receipts_reach_the_other_side(conversation, buyer, artisan):
    async with ws_client(buyer) as b, ws_client(artisan) as a:
        await connect(b)
        await connect(a)
        for ws in (a, b):
            await ws.send_json_to({"type": "subscribe", "conversation": conversation.pk})
            await receive_type(ws, "subscribed")
        await b.send_json_to({"type": "typing", "conversation": conversation.pk, "state": "start"})
        typing = await receive_type(a, "typing")
        assert typing["user"] == buyer.pk
        await a.send_json_to(
            {
                "type": "message.send",
                "conversation": conversation.pk,
                "client_id": "a1",
                "text": "Hallo",
            }
        )
        await receive_type(a, "message.ack")
        await receive_type(b, "message.new")
        await b.send_json_to({"type": "read", "conversation": conversation.pk, "seq": 1})
        read = await receive_until(a, lambda f: f["type"] == "read" and f["user"] == buyer.pk)
        assert read["seq"] == 1


async def test_presence_shows_artisan_online(conversation, buyer, artisan):
    async with ws_client(buyer) as b:
        await connect(b)
        await b.send_json_to({"type": "subscribe", "conversation": conversation.pk})
        sub = await receive_type(b, "subscribed")
        assert artisan.pk not in sub["online"]
        async with ws_client(artisan) as a:
            await connect(a)
            await a.send_json_to({"type": "subscribe", "conversation": conversation.pk})
            presence = await receive_until(
                b, lambda f: f["type"] == "presence" and f["user"] == artisan.pk
            )
            assert presence["online"] is True
        offline = await receive_until(
            b, lambda f: f["type"] == "presence" and f["user"] == artisan.pk
        )
        assert offline["online"] is False


async def test_admin_reads_but_cannot_write(conversation, buyer, admin_user):
    await database_sync_to_async(post_message)(
        conversation=conversation, author=buyer, text="hello"
    )
    async with ws_client(admin_user) as ws:
        await connect(ws)
        await ws.send_json_to({"type": "subscribe", "conversation": conversation.pk})
        replay = await receive_type(ws, "message.new")
        assert replay["message"]["text"] == "hello"
        await ws.send_json_to(
            {
                "type": "message.send",
                "conversation": conversation.pk,
                "client_id": "adm",
                "text": "hi",
            }
        )
        assert (await receive_type(ws, "error"))["code"] == "read_only"


async def test_one_bad_conversation_does_not_disturb_another(buyer, artisan, conversation):
    other = await database_sync_to_async(start_conversation)(
        buyer=buyer, artisan=artisan, subject="mugs", context_type="product", context_id=5
    )
    async with ws_client(buyer) as ws:
        await connect(ws)
        await ws.send_json_to(
            {"type": "message.send", "conversation": conversation.pk, "client_id": "e1", "text": ""}
        )
        assert (await receive_type(ws, "error"))["code"] == "empty"
        await ws.send_json_to(
            {"type": "message.send", "conversation": other.pk, "client_id": "e2", "text": "fine"}
        )
        assert (await receive_type(ws, "message.ack"))["conversation"] == other.pk


async def test_an_allowed_host_on_another_port_is_refused(buyer):
    # Regression: any port (and scheme) of an allowed host used to be accepted.
    async with ws_client(buyer, origin="http://127.0.0.1:6666") as ws:
        connected, _ = await ws.connect()
        assert not connected


async def test_another_scheme_on_the_same_host_is_refused(buyer):
    async with ws_client(buyer, origin="https://127.0.0.1:8000") as ws:
        connected, _ = await ws.connect()
        assert not connected


async def test_an_origin_listed_in_ws_allowed_origins_is_accepted(buyer, settings):
    settings.WS_ALLOWED_ORIGINS = ["https://partner.example"]
    async with ws_client(buyer, origin="https://partner.example") as ws:
        await connect(ws)
    async with ws_client(buyer, origin="https://partner.example:8443") as ws:
        connected, _ = await ws.connect()
        assert not connected


async def test_a_handshake_without_origin_is_refused(buyer):
    from channels.testing import WebsocketCommunicator

    from core.asgi import application

    communicator = WebsocketCommunicator(
        application, "/ws/chat/", headers=[(b"host", b"127.0.0.1:8000")]
    )
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()


async def test_a_lone_surrogate_over_the_socket_is_stored_not_a_server_error(conversation, buyer):
    async with ws_client(buyer) as ws:
        await connect(ws)
        await ws.send_to(
            text_data='{"type": "message.send", "conversation": '
            + str(conversation.pk)
            + ', "client_id": "s-2", "text": "x \\ud800 y"}'
        )
        ack = await receive_type(ws, "message.ack")
        assert ack["client_id"] == "s-2"
    stored = await database_sync_to_async(Message.objects.get)(client_id="s-2")
    assert stored.text == "x \ufffd y"
