"""The pub/sub channel layer, plus a ``resync`` hint to sockets when Redis comes back.

``RedisPubSubChannelLayer`` keeps every group as a Redis SUBSCRIBE on one connection per
process. When that connection drops (Redis restarted, failover, network blip), redis-py
reconnects and re-subscribes on the next read, but whatever was published in between is
gone: pub/sub has no backlog. Sockets stay open, so clients see nothing wrong, and the
messages of that window would only show up after a reload (Chatwoot #14703 is the same
failure).

This layer notices the re-subscription (redis-py calls ``PubSub.on_connect`` on every
reconnect, never on the first connect) and then puts one ``hub.resync`` event on every
channel of this process. ``ChatConsumer.hub_resync`` turns it into a ``{"type":
"resync"}`` frame and the client subscribes again with its last ``seq`` (``after_seq``), so
the database fills the gap. It is sent after the groups are subscribed again, so a message
is either in that replay or arrives live.

It relies on channels_redis 4.3's internals (``RedisPubSubLoopLayer``,
``RedisSingleShardConnection``, ``_subscribe_to_channel``); tests/conversations/test_channel_layer_resync.py restarts a
real Redis to check it after an upgrade.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
    _wrap_close,
)
from channels_redis.utils import decode_hosts
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError

from core.aio import SlimQueue

logger = logging.getLogger(__name__)

RESYNC_EVENT = {"type": "hub.resync"}


class _ReconnectAwarePubSub(PubSub):
    def __init__(self, *args, on_reconnect: Callable[[], None], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._on_reconnect = on_reconnect

    async def on_connect(self, connection) -> None:
        await super().on_connect(connection)  # re-subscribes every channel and group first
        self._on_reconnect()


class _ResyncingShard(RedisSingleShardConnection):
    async def publish(self, channel, message) -> None:
        # After a restart the first PUBLISH goes out on a pooled connection Redis already
        # closed and fails; redis-py drops that connection, so one retry gets a fresh one.
        # (A duplicate, if the first one did land, is harmless: clients drop a seq they hold.)
        try:
            await super().publish(channel, message)
        except RedisConnectionError:
            await super().publish(channel, message)

    def _ensure_redis(self) -> None:
        if self._redis is None:
            super()._ensure_redis()
            self._pubsub = _ReconnectAwarePubSub(
                self._redis.connection_pool,
                event_dispatcher=self._redis._event_dispatcher,
                on_reconnect=self._announce_resync,
            )

    def _announce_resync(self) -> None:
        loop_layer = self.channel_layer
        channels = loop_layer.channels
        logger.warning(
            "Channel layer re-subscribed to Redis: asking %d sockets to resync", len(channels)
        )
        message = loop_layer.channel_layer.serialize(RESYNC_EVENT)
        for queue in list(channels.values()):
            queue.put_nowait(message)


class _ResyncingLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, hosts=None, *args, **kwargs) -> None:
        super().__init__(hosts, *args, **kwargs)
        self._shards = [_ResyncingShard(host, self) for host in decode_hosts(hosts)]

    async def _subscribe_to_channel(self, channel) -> None:
        # As channels_redis does, with a slim receive queue: an asyncio.Queue is ~3 KiB per
        # socket before anything is queued (core/aio.py, docs/performance.md).
        self.channels[channel] = SlimQueue()
        await self._get_shard(channel).subscribe(channel)


class ResyncingPubSubChannelLayer(RedisPubSubChannelLayer):
    """``RedisPubSubChannelLayer`` that sends ``hub.resync`` to local channels after a reconnect."""

    def _get_layer(self):
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = _ResyncingLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
        return layer
