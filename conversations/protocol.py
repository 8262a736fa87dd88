"""The ``/ws/chat/`` protocol as pydantic 2 models: one per frame type, both directions.

docs/protocol.md is the prose; this module is the checked contract:

- **Server → client**: every frame the socket can send (hub events fanned out through
  ``conversations/events.py`` and the consumer's direct answers) has a model in
  ``SERVER_FRAMES``. Models forbid unknown fields, so a new field or a new event type
  without a schema fails the protocol tests (``tests/conversations/test_protocol.py``).
- **Client → server**: ``parse_client_text`` / ``parse_client_frame`` turn a raw text
  frame into one typed frame (a discriminated union on ``type``), validated once, or raise
  ``FrameError`` with a documented error code.

This module only describes shapes; it imports no models and does no database work.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 64 * 1024
# Ids and seqs are PostgreSQL bigints: a larger number is a bad frame, not a server error.
MAX_ID = 2**63 - 1

# Every ``error.code`` the socket may send (docs/protocol.md "Error codes").
ERROR_CODES = (
    "malformed",
    "invalid",
    "unknown_type",
    "too_large",
    "too_long",
    "empty",
    "not_found",
    "forbidden",
    "read_only",
    "not_subscribed",
    "blocked",
    "suspended",
    "closed",
    "rate_limited",
    "server_error",
    "not_authenticated",
    "signed_out",
    "session_expired",
)


class FrameError(Exception):
    """A client frame that cannot be handled, with a documented error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


# --- Client → server --------------------------------------------------------------------------

ConversationId = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
Seq = Annotated[int, Field(strict=True, ge=0, le=MAX_ID)]


class _ClientFrame(BaseModel):
    # Unknown fields are ignored (older servers must accept newer clients); known ones are
    # strict: "7" is not a conversation id and true is not a seq.
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class SubscribeFrame(_ClientFrame):
    type: Literal["subscribe"]
    conversation: ConversationId
    after_seq: Seq = 0
    # The ``update_seq`` of the last ``subscribed`` frame: changes to messages up to
    # ``after_seq`` made since are replayed. Absent: none (the client has just loaded them).
    after_update_seq: Seq | None = None


class UnsubscribeFrame(_ClientFrame):
    type: Literal["unsubscribe"]
    conversation: ConversationId


class SendFrame(_ClientFrame):
    type: Literal["message.send"]
    conversation: ConversationId
    client_id: Annotated[str, Field(min_length=1, max_length=64)]
    # Length, emptiness, NUL and lone surrogates are the message service's rules (one set
    # for every channel), so only the types are checked here.
    text: str = ""
    attachments: list[ConversationId] = Field(default_factory=list)


class TypingFrame(_ClientFrame):
    type: Literal["typing"]
    conversation: ConversationId
    state: Literal["start", "stop"] = "start"


class ReadFrame(_ClientFrame):
    type: Literal["read"]
    conversation: ConversationId
    seq: Seq


class PingFrame(_ClientFrame):
    type: Literal["ping"]


ClientFrame = Annotated[
    SubscribeFrame | UnsubscribeFrame | SendFrame | TypingFrame | ReadFrame | PingFrame,
    Field(discriminator="type"),
]
_client_frame = TypeAdapter(ClientFrame)
CLIENT_FRAMES: dict[str, type[_ClientFrame]] = {
    get_args(model.model_fields["type"].annotation)[0]: model
    for model in (SubscribeFrame, UnsubscribeFrame, SendFrame, TypingFrame, ReadFrame, PingFrame)
}

# What a wrong field is called in the error frame (the same wording as protocol v1 had).
_FIELD_ERRORS = {
    "conversation": "“conversation” must be an integer ≥ 1.",
    "after_seq": "“after_seq” must be an integer ≥ 0.",
    "after_update_seq": "“after_update_seq” must be an integer ≥ 0.",
    "seq": "“seq” must be an integer ≥ 0.",
    "client_id": "“client_id” is required (a UUID made by the client, at most 64 characters).",
    "text": "“text” must be a string.",
    "attachments": "“attachments” must be a list of attachment ids.",
    "state": "“state” must be “start” or “stop”.",
}


def parse_client_frame(content: Any) -> ClientFrame:
    """One decoded JSON value → a typed client frame, or FrameError (invalid, unknown_type)."""
    if not isinstance(content, dict) or not isinstance(content.get("type"), str):
        raise FrameError("invalid", "Every frame is a JSON object with a “type”.")
    if content["type"] not in CLIENT_FRAMES:
        raise FrameError("unknown_type", f"Unknown frame type “{content['type'][:40]}”.")
    try:
        return _client_frame.validate_python(content)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][1]) if len(first["loc"]) > 1 else ""
        raise FrameError(
            "invalid", _FIELD_ERRORS.get(field, f"“{field[:40]}” is not valid.")
        ) from None


def decode_client_text(text: str | None) -> Any:
    """A raw WebSocket text frame → its JSON value, or FrameError (invalid, too_large,
    malformed). Kept apart from ``parse_client_frame`` so that an error about a decoded
    frame can still echo its ``client_id`` and ``conversation``."""
    if not isinstance(text, str):
        raise FrameError("invalid", "Send JSON text frames.")
    if len(text) > MAX_FRAME_BYTES:
        raise FrameError("too_large", "Frame is too large.")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise FrameError("malformed", "Frame is not valid JSON.") from None


def parse_client_text(text: str | None) -> ClientFrame:
    """A raw text frame → a typed client frame, or FrameError with a documented code."""
    return parse_client_frame(decode_client_text(text))


# --- Server → client --------------------------------------------------------------------------


class _ServerFrame(BaseModel):
    # Forbid unknown fields: a field added to an event without a schema fails the tests.
    model_config = ConfigDict(extra="forbid", strict=True)


class Author(_ServerFrame):
    id: int
    name: str
    role: Literal["buyer", "artisan", "admin", "logistics"]


class AttachmentObject(_ServerFrame):
    id: int
    url: str
    thumbnail_url: str
    width: int
    height: int
    content_type: str


class TranslationState(_ServerFrame):
    status: Literal[
        "pending", "done", "same_language", "not_configured", "paused", "failed", "unsupported"
    ]
    text: str


class MessageObject(_ServerFrame):
    id: int
    conversation: int
    seq: int
    kind: Literal["text", "image", "system", "offer", "order_update", "bot"]
    author: Author | None
    text: str
    language: str
    # Cards and system lines carry facts whose schema is in docs/commerce.md "Card payloads".
    payload: dict[str, Any]
    attachments: list[AttachmentObject]
    client_id: str | None
    channel: Literal["web", "widget", "telegram"]
    created_at: datetime
    edited_at: datetime | None
    hidden: bool
    update_seq: int  # the conversation's update_seq at this message's latest change; 0: none
    translations: dict[str, TranslationState] | None = None  # replays and history only


class HelloEvent(_ServerFrame):
    type: Literal["hello"]
    user: int
    protocol: Literal[1]


class PongEvent(_ServerFrame):
    type: Literal["pong"]


class ResyncEvent(_ServerFrame):
    """The process's channel layer may have lost live events: resume every subscription."""

    type: Literal["resync"]


class SubscribedEvent(_ServerFrame):
    type: Literal["subscribed"]
    conversation: int
    last_seq: int
    # Every change up to this one is in the replay: resume changes from here next time.
    update_seq: int
    has_more: bool
    read: dict[str, int]  # {user id: last read seq}; JSON object keys are strings
    online: list[int]


class UnsubscribedEvent(_ServerFrame):
    type: Literal["unsubscribed"]
    conversation: int


class MessageNewEvent(_ServerFrame):
    type: Literal["message.new"]
    message: MessageObject
    replay: bool = False  # present (true) only on replays after subscribe


class MessageUpdatedEvent(_ServerFrame):
    type: Literal["message.updated"]
    message: MessageObject
    replay: bool = False  # present (true) only on changes replayed after subscribe


class MessageAckEvent(_ServerFrame):
    type: Literal["message.ack"]
    client_id: str
    conversation: int
    id: int
    seq: int
    duplicate: bool


class MessageTranslatedEvent(_ServerFrame):
    type: Literal["message.translated"]
    conversation: int
    message: int
    seq: int
    language: str
    status: Literal["done", "same_language", "not_configured", "paused", "failed", "unsupported"]
    text: str
    source_language: str


class ReadEvent(_ServerFrame):
    type: Literal["read"]
    conversation: int
    user: int
    seq: int


class TypingEvent(_ServerFrame):
    type: Literal["typing"]
    conversation: int
    user: int
    name: str
    state: Literal["start", "stop"]


class PresenceEvent(_ServerFrame):
    type: Literal["presence"]
    conversation: int
    user: int
    online: bool


class HandedOver(_ServerFrame):
    artisan: int
    reason: str  # a machine code (nlu's hand-over reasons), rendered by the client


class ConversationUpdatedEvent(_ServerFrame):
    """For inbox lists: a new message (no text: lists re-render in the reader's language),
    a read on another tab or device (``read_seq``), or the shop bot's hand-over."""

    type: Literal["conversation.updated"]
    conversation: int
    last_seq: int
    read_seq: int | None = None
    handed_over: HandedOver | None = None

    @model_validator(mode="after")
    def _one_reason(self) -> ConversationUpdatedEvent:
        if self.read_seq is not None and self.handed_over is not None:
            raise ValueError("conversation.updated carries at most one of read_seq, handed_over")
        return self


class OfferUpdatedEvent(_ServerFrame):
    type: Literal["offer.updated"]
    conversation: int
    offer: dict[str, Any]  # commerce's offer object (docs/commerce.md)


class OrderStatusEvent(_ServerFrame):
    type: Literal["order.status"]
    conversation: int
    order: dict[str, Any]  # commerce's order object (docs/commerce.md)


class CampaignProgressEvent(_ServerFrame):
    """A campaign's delivery counts, to its artisan's own group while it sends (commerce)."""

    type: Literal["campaign.progress"]
    campaign: int
    status: str  # commerce's campaign status code
    counts: dict[str, int]


class ErrorEvent(_ServerFrame):
    type: Literal["error"]
    code: Literal[ERROR_CODES]  # type: ignore[valid-type]
    message: Annotated[str, Field(min_length=1)]
    frame: str | None = None
    client_id: str | None = None
    conversation: int | None = None
    retry_after: float | None = None


SERVER_FRAMES: dict[str, type[_ServerFrame]] = {
    get_args(model.model_fields["type"].annotation)[0]: model
    for model in (
        HelloEvent,
        PongEvent,
        ResyncEvent,
        SubscribedEvent,
        UnsubscribedEvent,
        MessageNewEvent,
        MessageUpdatedEvent,
        MessageAckEvent,
        MessageTranslatedEvent,
        ReadEvent,
        TypingEvent,
        PresenceEvent,
        ConversationUpdatedEvent,
        OfferUpdatedEvent,
        OrderStatusEvent,
        CampaignProgressEvent,
        ErrorEvent,
    )
}

# The frames that services fan out to groups through conversations/events.py (the rest are
# the consumer's own answers to one socket).
HUB_EVENT_TYPES = frozenset(
    {
        "message.new",
        "message.updated",
        "message.translated",
        "read",
        "typing",
        "presence",
        "conversation.updated",
        "offer.updated",
        "order.status",
        "campaign.progress",
    }
)

# One union over the same table, so a frame type cannot be listed in one and not the other.
ServerFrame = Annotated[Union[tuple(SERVER_FRAMES.values())], Field(discriminator="type")]  # noqa: UP007
_server_frame = TypeAdapter(ServerFrame)


def validate_server_frame(frame: dict[str, Any]) -> _ServerFrame:
    """Check one outgoing frame as the client receives it (after JSON encoding).

    Raises pydantic's ValidationError; used by the protocol tests, not on the hot path.
    """
    return _server_frame.validate_json(json.dumps(frame))
