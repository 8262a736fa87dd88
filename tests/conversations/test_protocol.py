"""Every server → client frame matches its schema in conversations/protocol.py (Zulip's check).

Representative flows run through the real ASGI stack and services (post, retry, edit, read,
typing, presence, translation states, an offer accepted into an order, moderation, errors,
the rate limit). Every event sent to a group and every frame a socket receives is validated
against its model, which forbids unknown fields: an event type or a field added without a
schema fails here. docs/protocol.md and the models must list the same types and codes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from pydantic import ValidationError

from commerce import services as commerce
from commerce.models import Campaign
from commerce.services import marketing
from conversations import events, services
from conversations.events import user_group
from conversations.protocol import (
    CLIENT_FRAMES,
    ERROR_CODES,
    HUB_EVENT_TYPES,
    SERVER_FRAMES,
    validate_server_frame,
)
from core.models import Role
from tests.commerce.conftest import send
from tests.conftest import enrol_totp, make_user
from tests.conversations.conftest import session_cookie_for

PROTOCOL_DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


# --- The documentation and the models list the same things ------------------------------------


def _section(title: str) -> str:
    text = PROTOCOL_DOC.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def _first_column(title: str) -> set[str]:
    return set(re.findall(r"^\| `([a-z_.]+)` \|", _section(title), flags=re.MULTILINE))


def test_every_documented_client_frame_has_a_model_and_vice_versa():
    assert _first_column("Client → server") == set(CLIENT_FRAMES)


def test_every_documented_server_frame_has_a_model_and_vice_versa():
    assert _first_column("Server → client") == set(SERVER_FRAMES)


def test_every_documented_error_code_is_in_the_schema_and_vice_versa():
    assert _first_column("Error codes") == set(ERROR_CODES)


def test_hub_events_are_server_frames_and_the_helper_refuses_others():
    assert HUB_EVENT_TYPES <= set(SERVER_FRAMES)
    assert events.EVENT_TYPES == HUB_EVENT_TYPES
    with pytest.raises(ValueError, match="conversations/protocol.py"):
        events.hub_event("message.deleted", {"message": 1})


def test_a_field_without_a_schema_is_refused():
    good = {"type": "read", "conversation": 1, "user": 2, "seq": 3}
    validate_server_frame(good)
    with pytest.raises(ValidationError):
        validate_server_frame({**good, "reader_name": "Bea"})
    with pytest.raises(ValidationError):
        validate_server_frame({"type": "message.deleted", "message": 1})
    with pytest.raises(ValidationError):  # at most one of read_seq / handed_over
        validate_server_frame(
            {
                "type": "conversation.updated",
                "conversation": 1,
                "last_seq": 2,
                "read_seq": 2,
                "handed_over": {"artisan": 3, "reason": "asked_for_human"},
            }
        )
    with pytest.raises(ValidationError):  # no preview text: it would be in the writer's language
        validate_server_frame(
            {"type": "conversation.updated", "conversation": 1, "last_seq": 2, "preview": "Hi"}
        )


# --- Every frame emitted during representative flows matches its schema -------------------------


class RecordingSocket:
    """A WebsocketCommunicator that keeps every frame it receives."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator
        self.frames: list[dict[str, Any]] = []

    async def send(self, frame: dict[str, Any]) -> None:
        await self.communicator.send_json_to(frame)

    async def until(self, frame_type: str, **match: Any) -> dict[str, Any]:
        while True:
            frame = await self.communicator.receive_json_from(timeout=5)
            self.frames.append(frame)
            if frame["type"] == frame_type and all(frame.get(k) == v for k, v in match.items()):
                return frame

    async def drain(self) -> None:
        while not await self.communicator.receive_nothing(timeout=0.2):
            output = await self.communicator.receive_output(timeout=1)
            if output["type"] == "websocket.send":
                self.frames.append(json.loads(output["text"]))


async def _open(user) -> RecordingSocket:
    from core.asgi import application

    key = await database_sync_to_async(session_cookie_for)(user)
    communicator = WebsocketCommunicator(
        application,
        "/ws/chat/",
        headers=[
            (b"origin", b"http://127.0.0.1:8000"),
            (b"host", b"127.0.0.1:8000"),
            (b"cookie", f"sessionid={key}".encode()),
        ],
    )
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    socket = RecordingSocket(communicator)
    await socket.until("hello")
    return socket


@pytest.fixture
def group_events(monkeypatch) -> list[tuple[str, dict[str, Any]]]:
    """Every message any code sends to a channel-layer group, as sent."""
    layer = get_channel_layer()
    sent: list[tuple[str, dict[str, Any]]] = []
    original = layer.group_send

    async def recording_group_send(group: str, message: dict[str, Any]) -> None:
        sent.append((group, message))
        await original(group, message)

    monkeypatch.setattr(layer, "group_send", recording_group_send)
    return sent


@pytest.fixture
def people(transactional_db):
    lea = make_user("lea@example.fr", preferred_language="fr", display_name="Léa")
    jonas = make_user(
        "jonas@example.de", Role.ARTISAN, preferred_language="de", display_name="Jonas"
    )
    enrol_totp(jonas)
    commerce.save_artisan_profile(
        user=jonas,
        shop_name="Webstube",
        story="Wool from the valley.",
        region="Allgäu",
        country="DE",
        languages=["de", "en"],
        materials="wool",
    )
    admin = make_user("mod@example.com", Role.ADMIN, is_staff=True, is_superuser=True)
    conversation = services.start_conversation(buyer=lea, artisan=jonas, subject="Teppich")
    return lea, jonas, admin, conversation


@pytest.mark.django_db(transaction=True)
async def test_every_frame_and_event_of_the_representative_flows_matches_its_schema(
    people, group_events, settings
):
    settings.DEEPL_AUTH_KEY = ""  # translations announce "not_configured"
    settings.MESSAGE_SEND_RATE = "100/m"
    lea, jonas, admin, conversation = people
    conv = conversation.pk
    call = database_sync_to_async

    # A message from before Léa connects, replayed (with its translations) on subscribe
    await call(services.post_message)(
        conversation=conversation, author=jonas, text="Guten Tag", language="de"
    )
    artisan = await _open(jonas)
    await artisan.send({"type": "subscribe", "conversation": conv})
    await artisan.until("subscribed")
    buyer = await _open(lea)
    await buyer.send({"type": "subscribe", "conversation": conv, "after_seq": 0})
    await buyer.until("message.new", replay=True)
    await buyer.until("subscribed")
    await artisan.until("presence", user=lea.pk, online=True)

    # Post over the socket, then retry it
    sent = {"type": "message.send", "conversation": conv, "client_id": "p-1", "text": "Bonjour"}
    await buyer.send(sent)
    await buyer.until("message.ack", duplicate=False)
    await artisan.until("message.new")
    await artisan.until("message.translated")
    await buyer.send(sent)
    await buyer.until("message.ack", duplicate=True)

    # Typing, read receipts, an edit
    await buyer.send({"type": "typing", "conversation": conv, "state": "start"})
    await artisan.until("typing", state="start")
    await buyer.send({"type": "typing", "conversation": conv, "state": "stop"})
    await artisan.until("typing", state="stop")
    await artisan.send({"type": "read", "conversation": conv, "seq": 2})
    await buyer.until("read", user=jonas.pk)
    await artisan.until("conversation.updated", read_seq=2)
    stored = await call(lambda: conversation.messages.get(client_id="p-1"))()
    await call(services.edit_message)(message=stored, editor=lea, text="Bonjour Jonas")
    await artisan.until("message.updated")

    # An offer card, accepted into an order: card updated in place, offer and order events
    offer = await call(send)(jonas, conversation)
    await buyer.until("offer.updated")
    await call(commerce.accept_offer)(buyer=lea, offer=offer)
    await buyer.until("order.status")

    # Moderation hides a message
    await call(services.hide_message)(message=stored, moderator=admin, note="test")
    await artisan.until("message.updated")

    # A campaign's delivery progress, to its artisan's own sockets
    campaign = await call(Campaign.objects.create)(
        shop=await call(lambda: jonas.artisan_profile)(),
        title="Neu",
        body="Neue Teppiche",
        language="de",
        segment="followers",
        channels=["web"],
    )
    await call(marketing.publish_progress)(campaign.pk)
    await artisan.until("campaign.progress", campaign=campaign.pk)

    # Errors, including the rate limit with retry_after
    await buyer.send({"type": "subscribe", "conversation": True})
    await buyer.until("error", code="invalid")
    await buyer.send({"type": "dance"})
    await buyer.until("error", code="unknown_type")
    await buyer.send({"type": "message.send", "conversation": conv, "client_id": "e", "text": ""})
    await buyer.until("error", code="empty")
    settings.MESSAGE_SEND_RATE = "1/h"
    for client_id in ("q-1", "q-2"):
        await buyer.send(sent | {"client_id": client_id})
    await buyer.until("error", code="rate_limited")

    # The channel layer re-subscribed after a Redis restart (conversations/channel_layer.py)
    await get_channel_layer().group_send(user_group(lea.pk), {"type": "hub.resync"})
    await buyer.until("resync")

    # Keep-alive, unsubscribe, and going offline
    await buyer.send({"type": "ping"})
    await buyer.until("pong")
    await buyer.drain()
    await buyer.communicator.disconnect()
    await artisan.until("presence", user=lea.pk, online=False)
    await artisan.send({"type": "unsubscribe", "conversation": conv})
    await artisan.until("unsubscribed")
    await artisan.drain()
    await artisan.communicator.disconnect()

    # Then every frame received and every hub event sent matches its schema
    received = buyer.frames + artisan.frames
    emitted = [m["event"] for _group, m in group_events if m["type"] == "hub.event"]
    failures = []
    for frame in received + emitted:
        try:
            validate_server_frame(frame)
        except ValidationError as error:
            failures.append(f"{frame.get('type')}: {error}")
    assert failures == []
    # and the flows covered every frame type (a new type needs a flow here, and a schema)
    assert {f["type"] for f in received} | {e["type"] for e in emitted} == set(SERVER_FRAMES)
    # and group events are only ever hub events or session closes
    assert {m["type"] for _g, m in group_events} <= {"hub.event", "hub.disconnect", "hub.resync"}
