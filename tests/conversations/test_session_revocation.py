"""A socket lives only as long as its session (audit finding: it kept working after logout).

Each test opens real sockets through the ASGI stack with a real session cookie, then ends the
session the way a person or a moderator would, and checks what every socket sees.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse

from conversations.services import suspend_user
from core import services as core_services
from core.asgi import application
from core.gdpr import erase_personal_data
from core.security import disable_totp
from tests.conftest import PASSWORD, enrol_totp
from tests.conversations.conftest import connect, receive_type, session_cookie_for

pytestmark = [pytest.mark.django_db(transaction=True)]


@contextlib.asynccontextmanager
async def socket_with_session(session_key: str) -> AsyncIterator[WebsocketCommunicator]:
    headers = [
        (b"origin", b"http://127.0.0.1:8000"),
        (b"host", b"127.0.0.1:8000"),
        (b"cookie", f"sessionid={session_key}".encode()),
    ]
    communicator = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    try:
        yield communicator
    finally:
        await communicator.disconnect()


async def new_session(user) -> str:
    return await database_sync_to_async(session_cookie_for)(user)


async def expect_closed(ws: WebsocketCommunicator, code: str, close_code: int = 4401) -> None:
    frame = await receive_type(ws, "error")
    assert frame["code"] == code
    closed = await ws.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": close_code}


async def still_open(ws: WebsocketCommunicator, conversation_id: int) -> None:
    await ws.send_json_to({"type": "subscribe", "conversation": conversation_id, "after_seq": 0})
    assert (await receive_type(ws, "subscribed"))["conversation"] == conversation_id


def log_out(session_key: str) -> int:
    client = Client()
    client.cookies["sessionid"] = session_key
    return client.post(reverse("core:logout")).status_code


async def test_logging_out_closes_that_browsers_socket_and_no_other(conversation, buyer):
    # Given the buyer chats from a laptop and a phone
    laptop, phone = await new_session(buyer), await new_session(buyer)
    async with socket_with_session(laptop) as on_laptop, socket_with_session(phone) as on_phone:
        await connect(on_laptop)
        await connect(on_phone)
        # When they sign out on the laptop
        assert await database_sync_to_async(log_out)(laptop) == 302
        # Then the laptop's socket is told and closed, and the phone keeps chatting
        await expect_closed(on_laptop, "signed_out")
        await still_open(on_phone, conversation.pk)


async def test_a_password_change_closes_every_socket_of_the_person(conversation, buyer):
    key = await new_session(buyer)
    async with socket_with_session(key) as ws:
        await connect(ws)
        await database_sync_to_async(core_services.change_password)(
            user=buyer, new_password="a-new-long-passphrase-2026"
        )
        await expect_closed(ws, "password_changed")


async def test_removing_the_second_factor_closes_the_sockets(conversation, artisan):
    key = await new_session(artisan)
    async with socket_with_session(key) as ws:
        await connect(ws)
        await database_sync_to_async(disable_totp)(user=artisan)
        await expect_closed(ws, "second_factor_changed")


async def test_suspension_closes_the_sockets_with_the_reason(conversation, buyer, admin_user):
    await database_sync_to_async(enrol_totp)(admin_user)
    key = await new_session(buyer)
    async with socket_with_session(key) as ws:
        await connect(ws)
        await database_sync_to_async(suspend_user)(
            user=buyer, moderator=admin_user, reason="payment fraud"
        )
        await expect_closed(ws, "suspended", close_code=4403)


async def test_erasure_closes_the_sockets(conversation, buyer):
    key = await new_session(buyer)
    async with socket_with_session(key) as ws:
        await connect(ws)
        await database_sync_to_async(erase_personal_data)(user=buyer)
        await expect_closed(ws, "account_erased")


async def test_a_frame_on_a_session_that_ended_without_an_event_is_refused(
    conversation, buyer, settings
):
    # Given a socket whose session row disappears (expired, flushed by another process)
    settings.WS_SESSION_RECHECK_SECONDS = 0
    key = await new_session(buyer)
    async with socket_with_session(key) as ws:
        await connect(ws)
        await still_open(ws, conversation.pk)
        await database_sync_to_async(SessionStore(session_key=key).delete)()
        # When it sends its next frame, Then it is closed instead of served
        await ws.send_json_to({"type": "ping"})
        await expect_closed(ws, "session_expired")


async def test_a_frame_after_the_password_changed_elsewhere_is_refused(
    conversation, buyer, settings
):
    # The session row survives a password change made with the model API directly, but its
    # auth hash no longer matches: Django's own rule, applied to every frame.
    settings.WS_SESSION_RECHECK_SECONDS = 0
    key = await new_session(buyer)
    async with socket_with_session(key) as ws:
        await connect(ws)

        def change_without_signal() -> None:
            buyer.set_password("another-long-passphrase-2026")
            buyer.save(update_fields=["password"])

        await database_sync_to_async(change_without_signal)()
        await ws.send_json_to({"type": "ping"})
        await expect_closed(ws, "session_expired")


async def test_a_valid_session_keeps_working_with_rechecks(conversation, buyer, settings):
    settings.WS_SESSION_RECHECK_SECONDS = 0
    key = await new_session(buyer)
    async with socket_with_session(key) as ws:
        await connect(ws)
        for _ in range(3):
            await ws.send_json_to({"type": "ping"})
            assert (await receive_type(ws, "pong"))["type"] == "pong"


async def test_a_deeply_nested_frame_is_a_clear_error_and_the_socket_stays(conversation, buyer):
    key = await new_session(buyer)
    async with socket_with_session(key) as ws:
        await connect(ws)
        await ws.send_to(text_data="[" * 20000 + "]" * 20000)
        assert (await receive_type(ws, "error"))["code"] == "malformed"
        await still_open(ws, conversation.pk)


def test_password_login_still_works_after_revocation(buyer):
    # The revocation closes sockets; it does not lock the person out.
    client = Client()
    response = client.post(reverse("core:login"), {"email": buyer.email, "password": PASSWORD})
    assert response.status_code == 302
