"""A Redis restart under connected sockets: the server tells clients to resync.

Pub/sub has no backlog, so events published while the layer is re-subscribing are lost;
conversations/channel_layer.py notices the re-subscription and sends ``hub.resync`` to every
local channel, which the consumer forwards as a ``resync`` frame. These tests run a private
``redis-server`` (a free port, no persistence) so they can restart it without touching the
shared one.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers

from conversations.channel_layer import ResyncingPubSubChannelLayer
from conversations.events import user_group
from conversations.services import post_message
from core.aio import SlimQueue
from tests.conftest import require_or_skip
from tests.conversations.conftest import connect, receive_type, receive_until, ws_client


class PrivateRedis:
    def __init__(self, directory: str) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.directory,
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:
    require_or_skip(shutil.which("redis-server") is not None, "redis-server is not installed")
    redis = PrivateRedis(str(tmp_path))
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


async def test_layer_sends_resync_after_redis_restarts_and_delivers_again(private_redis):
    layer = ResyncingPubSubChannelLayer(hosts=[private_redis.url])
    try:
        channel = await layer.new_channel()
        await layer.group_add("conv.1", channel)
        await layer.group_send("conv.1", {"type": "hub.event", "n": 1})
        assert (await asyncio.wait_for(layer.receive(channel), 5))["n"] == 1

        # When Redis restarts under the subscription
        await asyncio.to_thread(private_redis.restart)
        # Then a publish right away does not fail (its stale pooled connection is retried)…
        await layer.group_send("conv.1", {"type": "hub.event", "n": 2})
        # …and once the layer is subscribed again, the channel is told to resync
        frames = []
        while not any(f["type"] == "hub.resync" for f in frames):
            frames.append(await asyncio.wait_for(layer.receive(channel), 10))
        assert [f for f in frames if f["type"] == "hub.resync"] == [{"type": "hub.resync"}]
        # (n=2 either arrived live or was lost before the re-subscription: the resync covers it)
        assert all(f.get("n") == 2 for f in frames if f["type"] == "hub.event")
        # and live delivery works again
        await layer.group_send("conv.1", {"type": "hub.event", "n": 3})
        assert (await asyncio.wait_for(layer.receive(channel), 5))["n"] == 3
    finally:
        await layer.flush()


async def test_each_channel_waits_on_a_slim_queue_and_a_cancelled_receive_unsubscribes(
    private_redis,
):
    # Every socket holds one such queue: core/aio.py's, not an asyncio.Queue (~3 KiB each).
    layer = ResyncingPubSubChannelLayer(hosts=[private_redis.url])
    try:
        channel = await layer.new_channel()
        assert isinstance(layer._get_layer().channels[channel], SlimQueue)
        for n in range(3):
            await layer.send(channel, {"type": "hub.event", "n": n})
        assert [(await asyncio.wait_for(layer.receive(channel), 5))["n"] for _ in range(3)] == [
            0,
            1,
            2,
        ]
        waiting = asyncio.create_task(layer.receive(channel))
        await asyncio.sleep(0.05)
        waiting.cancel()  # the consumer leaving: channels_redis drops the channel
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert channel not in layer._get_layer().channels
    finally:
        await layer.flush()


@pytest.mark.django_db(transaction=True)
async def test_consumer_forwards_resync_and_the_resume_replays_the_lost_message(
    private_redis, settings, conversation, buyer, artisan
):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "conversations.channel_layer.ResyncingPubSubChannelLayer",
            "CONFIG": {"hosts": [private_redis.url], "prefix": "resync-test"},
        }
    }
    channel_layers.backends.clear()
    try:
        async with ws_client(buyer) as ws:
            await connect(ws)
            await ws.send_json_to(
                {"type": "subscribe", "conversation": conversation.pk, "after_seq": 0}
            )
            await receive_type(ws, "subscribed")

            # When Redis restarts and the artisan writes straight away
            await asyncio.to_thread(private_redis.restart)
            await database_sync_to_async(post_message)(
                conversation=conversation,
                author=artisan,
                text="Sent during the restart",
                client_id="r-1",
            )
            # Then the socket is told to resync (the message may or may not have come live)
            seen = await receive_until(ws, lambda f: f["type"] == "resync", timeout=10)
            assert seen == {"type": "resync"}
            # …and resuming from its last seq replays it
            await ws.send_json_to(
                {"type": "subscribe", "conversation": conversation.pk, "after_seq": 0}
            )
            replay = await receive_until(
                ws, lambda f: f["type"] == "message.new" and f.get("replay")
            )
            assert replay["message"]["text"] == "Sent during the restart"
            assert replay["message"]["seq"] == 1
            await receive_type(ws, "subscribed")
    finally:
        channel_layers.backends.clear()


@pytest.mark.django_db(transaction=True)
async def test_hub_resync_event_becomes_a_resync_frame(buyer):
    from channels.layers import get_channel_layer

    async with ws_client(buyer) as ws:
        await connect(ws)
        await get_channel_layer().group_send(user_group(buyer.pk), {"type": "hub.resync"})
        assert await receive_type(ws, "resync") == {"type": "resync"}
