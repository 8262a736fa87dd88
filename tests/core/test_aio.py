"""core.aio's slim queue and event, and the uvicorn protocol class that uses them."""

from __future__ import annotations

import asyncio
import gc
import sys

import pytest
import uvicorn
import websockets

from core.aio import SlimEvent, SlimQueue
from core.ws_server import SlimSansIOProtocol

pytestmark = pytest.mark.asyncio


async def test_the_queue_is_fifo_and_a_getter_waits_for_the_next_item():
    queue: SlimQueue[int] = SlimQueue()
    assert queue.empty() and queue.qsize() == 0
    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    queue.put_nowait(1)
    queue.put_nowait(2)
    assert await waiting == 1
    assert queue.qsize() == 1
    assert await queue.get() == 2
    assert queue.empty()
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()


async def test_a_long_backlog_drains_in_order():
    queue: SlimQueue[int] = SlimQueue()
    for n in range(1000):
        await queue.put(n)
    got = [await queue.get() for _ in range(600)]
    for n in range(1000, 1200):
        queue.put_nowait(n)
    got += [queue.get_nowait() for _ in range(600)]
    assert got == list(range(1200))
    assert queue.empty() and queue._items == [] and queue._head == 0


async def test_a_cancelled_getter_leaves_the_item_for_the_next_one():
    queue: SlimQueue[str] = SlimQueue()
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("hello")  # wakes the first getter…
    first.cancel()  # …which is cancelled before it runs
    assert await second == "hello"
    with pytest.raises(asyncio.CancelledError):
        await first
    assert queue._getters is None


async def test_the_event_wakes_every_waiter_and_can_be_cleared():
    event = SlimEvent()
    assert not event.is_set()
    waiters = [asyncio.create_task(event.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    event.set()
    assert await asyncio.gather(*waiters) == [True, True, True]
    event.clear()
    assert not event.is_set()
    late = asyncio.create_task(event.wait())
    await asyncio.sleep(0)
    late.cancel()
    with pytest.raises(asyncio.CancelledError):
        await late
    assert event._waiters is None
    event.set()
    assert await event.wait() is True


async def test_idle_they_are_a_fraction_of_asyncio_s():
    gc.collect()

    def footprint(obj) -> int:
        return (
            sys.getsizeof(obj)
            + sum(sys.getsizeof(v) for v in getattr(obj, "__dict__", {}).values())
            + sum(sys.getsizeof(getattr(obj, s)) for s in getattr(obj, "__slots__", ()))
        )

    stock = asyncio.Queue()
    slim = SlimQueue()
    assert footprint(slim) * 4 < footprint(stock) + sys.getsizeof(stock._queue)


async def test_uvicorn_serves_a_websocket_through_the_slim_protocol():
    seen: list[object] = []
    closed = asyncio.Event()

    async def echo(scope, receive, send):
        assert scope["type"] == "websocket"
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                seen.append(event["code"])
                closed.set()
                return
            await send({"type": "websocket.send", "text": event["text"].upper()})

    config = uvicorn.Config(
        echo, host="127.0.0.1", port=0, ws=SlimSansIOProtocol, lifespan="off", log_level="error"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn's Server has no "started" event
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/") as socket:
            protocols = [
                c for c in server.server_state.connections if isinstance(c, SlimSansIOProtocol)
            ]
            assert len(protocols) == 1
            assert isinstance(protocols[0].queue, SlimQueue)
            for word in ("bonjour", "hola", "こんにちは"):
                await socket.send(word)
                assert await socket.recv() == word.upper()
        await asyncio.wait_for(closed.wait(), 10)
        assert seen == [1000]
    finally:
        server.should_exit = True
        await serving
