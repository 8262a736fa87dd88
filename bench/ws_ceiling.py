"""The bare ceiling for bench/ws_load.py: a broadcast server with nothing but `websockets`.

    python bench/ws_ceiling.py --port 8765

It speaks just enough of the hub's protocol (docs/protocol.md) for the bench's clients: a
``hello`` on connect, ``subscribe`` (replaying the room's messages after ``after_seq``),
``message.send`` answered with ``message.ack`` and fanned out to the room as
``message.new`` with a per-room ``seq``. No Django, no database, no channel layer, no
authentication: the user id is read from the bench's cookie (``sessionid=ceil-<user>``).
Whatever the hub costs above this, under the identical load in the same run, is the price of
its guarantees and its framework; the bench prints the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from collections import defaultdict
from datetime import UTC, datetime


class Room:
    __slots__ = ("history", "members")

    def __init__(self) -> None:
        self.members: set = set()
        self.history: list[str] = []  # serialised message.new frames, seq = index + 1


def _user_of(headers) -> int:
    for part in (headers.get("Cookie") or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "sessionid" and value.startswith("ceil-"):
            return int(value.removeprefix("ceil-"))
    return 0


async def serve(port: int) -> None:
    from websockets.asyncio.server import broadcast
    from websockets.asyncio.server import serve as ws_serve

    rooms: dict[int, Room] = defaultdict(Room)
    seen: dict[tuple[int, str], int] = {}  # (user, client_id) -> seq: idempotent retries

    async def handler(ws) -> None:
        user = _user_of(ws.request.headers)
        joined: list[Room] = []
        await ws.send(json.dumps({"type": "hello", "user": user, "protocol": 1}))
        try:
            async for raw in ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "subscribe":
                    room = rooms[int(frame["conversation"])]
                    room.members.add(ws)
                    joined.append(room)
                    for text in room.history[int(frame.get("after_seq") or 0) :]:
                        await ws.send(text)
                    await ws.send(
                        json.dumps(
                            {
                                "type": "subscribed",
                                "conversation": frame["conversation"],
                                "last_seq": len(room.history),
                            }
                        )
                    )
                elif kind == "message.send":
                    conversation = int(frame["conversation"])
                    room = rooms[conversation]
                    key = (user, str(frame["client_id"]))
                    duplicate = key in seen
                    if not duplicate:
                        seq = len(room.history) + 1
                        seen[key] = seq
                        text = json.dumps(
                            {
                                "type": "message.new",
                                "message": {
                                    "seq": seq,
                                    "conversation": conversation,
                                    "author": {"id": user},
                                    "text": frame.get("text", ""),
                                    "created_at": datetime.now(UTC).isoformat(),
                                },
                            }
                        )
                        room.history.append(text)
                        broadcast(room.members, text)
                    await ws.send(
                        json.dumps(
                            {
                                "type": "message.ack",
                                "client_id": frame["client_id"],
                                "conversation": conversation,
                                "seq": seen[key],
                                "duplicate": duplicate,
                            }
                        )
                    )
                elif kind == "ping":
                    await ws.send('{"type": "pong"}')
        finally:
            for room in joined:
                room.members.discard(ws)

    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    # The bench's port probe (connect, close) is not a failed handshake worth a traceback.
    logging.getLogger("websockets").setLevel(logging.CRITICAL)
    async with ws_serve(handler, "127.0.0.1", port, compression=None, max_queue=None):
        await stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    try:
        import uvloop  # as uvicorn uses it for the hub, so the two loops are alike
    except ImportError:
        asyncio.run(serve(port))
    else:
        uvloop.run(serve(port))


if __name__ == "__main__":
    main()
