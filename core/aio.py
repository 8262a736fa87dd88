"""Small asyncio primitives for what every open socket holds.

Each idle WebSocket keeps two receive queues (the server's, of ASGI events, and the channel
layer's, of hub events) and one writable flag. ``asyncio.Queue`` allocates three deques and
an ``Event`` (a fourth) up front, about 3 KiB per queue before anything is queued; with
thousands of sockets per process that was an eighth of the memory each one costs
(docs/performance.md, "Memory per socket"). These keep the same semantics for the calls
those libraries make (``put_nowait``, ``get``, ``empty``, ``qsize``; ``set``, ``clear``,
``wait``, ``is_set``) and allocate only while something is queued or waited for.

Unbounded like the queues they replace (the server pauses reading past its high-water
mark; the layer's queue is drained by the consumer's dispatch loop).
"""

from __future__ import annotations

import asyncio
from typing import Any, Generic, TypeVar

T = TypeVar("T")
F = TypeVar("F", bound="asyncio.Future[Any]")


def _with(waiters: list[F] | None, waiter: F) -> list[F]:
    """``waiters`` with ``waiter`` appended: the list exists only while someone waits."""
    if waiters is None:
        waiters = []
    waiters.append(waiter)
    return waiters


def _without(waiters: list[F] | None, waiter: F) -> list[F] | None:
    """``waiters`` without ``waiter``; ``None`` once nobody waits."""
    if waiters is not None and waiter in waiters:
        waiters.remove(waiter)
    return waiters or None


class SlimQueue(Generic[T]):
    """FIFO with ``asyncio.Queue``'s ``put_nowait``/``get``/``empty``/``qsize``."""

    __slots__ = ("_items", "_head", "_getters")

    def __init__(self) -> None:
        self._items: list[T] = []
        self._head = 0  # items before it were taken; compacted as the queue drains
        self._getters: list[asyncio.Future[None]] | None = None

    def qsize(self) -> int:
        return len(self._items) - self._head

    def empty(self) -> bool:
        return self._head >= len(self._items)

    def put_nowait(self, item: T) -> None:
        self._items.append(item)
        self._wake_one()

    async def put(self, item: T) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> T:
        if self.empty():
            raise asyncio.QueueEmpty
        item = self._items[self._head]
        self._items[self._head] = None  # type: ignore[call-overload]  # drop the reference now
        self._head += 1
        if self._head >= len(self._items):
            self._items.clear()  # frees the array: an idle queue holds an empty list
            self._head = 0
        elif self._head > 64 and self._head * 2 > len(self._items):
            del self._items[: self._head]
            self._head = 0
        return item

    async def get(self) -> T:
        while self.empty():
            getter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters = _with(self._getters, getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                self._getters = _without(self._getters, getter)
                if not self.empty():
                    self._wake_one()  # it may have been woken for an item it now leaves
                raise
            self._getters = _without(self._getters, getter)
        return self.get_nowait()

    def _wake_one(self) -> None:
        if self._getters:
            for getter in self._getters:
                if not getter.done():
                    getter.set_result(None)
                    return


class SlimEvent:
    """``asyncio.Event``'s ``set``/``clear``/``wait``/``is_set``, waiters created on demand."""

    __slots__ = ("_value", "_waiters")

    def __init__(self) -> None:
        self._value = False
        self._waiters: list[asyncio.Future[Any]] | None = None

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        if not self._value:
            self._value = True
            waiters, self._waiters = self._waiters, None
            for waiter in waiters or ():
                if not waiter.done():
                    waiter.set_result(True)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> bool:
        if self._value:
            return True
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters = _with(self._waiters, waiter)
        try:
            await waiter
            return True
        finally:
            self._waiters = _without(self._waiters, waiter)
