"""Hub fixtures: a buyer–artisan conversation and authenticated WebSocket connections."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from conversations.services import start_conversation
from core.asgi import application


@pytest.fixture
def conversation(buyer, artisan):
    return start_conversation(buyer=buyer, artisan=artisan, subject="A blue vase")


def session_cookie_for(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


@contextlib.asynccontextmanager
async def ws_client(
    user=None, *, origin: str = "http://127.0.0.1:8000"
) -> AsyncIterator[WebsocketCommunicator]:
    headers = [(b"origin", origin.encode()), (b"host", b"127.0.0.1:8000")]
    if user is not None:
        key = await database_sync_to_async(session_cookie_for)(user)
        headers.append((b"cookie", f"sessionid={key}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    try:
        yield communicator
    finally:
        await communicator.disconnect()


async def connect(communicator: WebsocketCommunicator) -> dict:
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    hello = await communicator.receive_json_from(timeout=5)
    assert hello["type"] == "hello"
    return hello


async def receive_until(
    communicator: WebsocketCommunicator, predicate: Callable[[dict], bool], timeout: float = 5
) -> dict:
    """Read frames until one matches (others, like presence, are skipped)."""
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        if predicate(frame):
            return frame


async def receive_type(
    communicator: WebsocketCommunicator, frame_type: str, timeout: float = 5
) -> dict:
    return await receive_until(communicator, lambda f: f["type"] == frame_type, timeout)
