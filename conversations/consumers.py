"""The chat WebSocket: one socket per browser tab, many conversations over it.

Protocol (docs/protocol.md): the client subscribes to conversations (with ``after_seq`` to
resume), sends messages with a ``client_id`` (acked, idempotent), typing and read frames.
Every frame is validated and authorised on its own; a bad frame gets an ``error`` frame
and never closes the socket or affects other conversations. The database, not the channel
layer, is the source of truth: a client that missed events resumes from its last ``seq``.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from conversations import selectors, services
from conversations.events import conversation_group, user_group
from conversations.presence import mark_offline, mark_online, online_user_ids
from conversations.ratelimit import RateLimited, consume_token
from conversations.session_revocation import session_is_valid
from core.logs import bind_websocket_connection

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024


_hub_executor: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _hub_executor
    if _hub_executor is None:
        _hub_executor = ThreadPoolExecutor(
            max_workers=settings.HUB_THREADS, thread_name_prefix="hub"
        )
    return _hub_executor


def hub_call(func):
    """Run one short unit of ORM work off the event loop, on the hub's thread pool.

    Not thread-sensitive: Channels' default runs every consumer's sync code on ONE shared
    thread per process (asgiref #218), which serialises all sockets behind the slowest
    query. Each call here is one short transaction, safe on any pool thread with its own
    connection. The pool is sized by HUB_THREADS because a send spends most of its time
    waiting (database commit, fan-out round trips to Redis), not computing; the loop's
    default executor (cores + 4 threads) capped a 2-core box at ~40 messages/s.
    """
    return database_sync_to_async(func, thread_sensitive=False, executor=_executor())


RESUME_PAGE = 200


class FrameError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _require_int(frame: dict[str, Any], key: str, *, minimum: int = 0) -> int:
    value = frame.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise FrameError("invalid", f"“{key}” must be an integer ≥ {minimum}.")
    return value


class ChatConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.user = self.scope.get("user")
        self.connection_id = bind_websocket_connection(self.scope)  # on every log line
        self.subscriptions: set[int] = set()
        if self.user is None or not self.user.is_authenticated:
            # Accept then close with an explanation the client can show.
            await self.accept()
            await self.send_json(
                {"type": "error", "code": "not_authenticated", "message": "Sign in to chat."}
            )
            await self.close(code=4401)
            return
        self.user_group = user_group(self.user.pk)
        self._session_checked_at = time.monotonic()  # the handshake just loaded the session
        await self.channel_layer.group_add(self.user_group, self.channel_name)
        await self.accept()
        await hub_call(mark_online)(self.user.pk)
        await self.send_json({"type": "hello", "user": self.user.pk, "protocol": 1})

    async def disconnect(self, code: int) -> None:
        user = getattr(self, "user", None)
        if user is None or not user.is_authenticated:
            return
        await self.channel_layer.group_discard(self.user_group, self.channel_name)
        now_offline = await hub_call(mark_offline)(user.pk)
        for conversation_id in list(self.subscriptions):
            if now_offline:
                await self._broadcast_presence(conversation_id, online=False)
            await self.channel_layer.group_discard(
                conversation_group(conversation_id), self.channel_name
            )

    # -- Incoming frames ---------------------------------------------------------------

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        if not await self._session_still_valid():
            return
        text = message.get("text")
        if text is None:
            await self._error("invalid", "Send JSON text frames.")
            return
        if len(text) > MAX_FRAME_BYTES:
            await self._error("too_large", "Frame is too large.")
            return
        try:
            content = await self.decode_json(text)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            await self._error("malformed", "Frame is not valid JSON.")
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self._error("invalid", "Every frame is a JSON object with a “type”.")
            return
        handler = {
            "subscribe": self._on_subscribe,
            "unsubscribe": self._on_unsubscribe,
            "message.send": self._on_send,
            "typing": self._on_typing,
            "read": self._on_read,
            "ping": self._on_ping,
        }.get(content["type"])
        if handler is None:
            await self._error("unknown_type", f"Unknown frame type “{content['type'][:40]}”.")
            return
        try:
            await handler(content)
        except FrameError as exc:
            await self._error(exc.code, exc.message, content)
        except services.HubError as exc:
            await self._error(exc.code, exc.message, content)
        except RateLimited as exc:
            await self._error(
                "rate_limited",
                f"You are sending too fast. Try again in {exc.retry_after:.0f} s.",
                content,
                retry_after=round(exc.retry_after, 1),
            )
        except Exception:
            logger.exception("Frame %s failed", content.get("type"))
            await self._error("server_error", "Something went wrong. Try again.", content)

    async def _on_ping(self, frame: dict[str, Any]) -> None:
        await hub_call(mark_online)(self.user.pk, refresh_only=True)
        await self.send_json({"type": "pong"})

    async def _on_subscribe(self, frame: dict[str, Any]) -> None:
        conversation_id = _require_int(frame, "conversation", minimum=1)
        after_seq = frame.get("after_seq", 0)
        if isinstance(after_seq, bool) or not isinstance(after_seq, int) or after_seq < 0:
            raise FrameError("invalid", "“after_seq” must be an integer ≥ 0.")
        state = await hub_call(selectors.subscription_state)(
            user=self.user, conversation_id=conversation_id, after_seq=after_seq, limit=RESUME_PAGE
        )
        if state is None:
            raise FrameError("not_found", "No such conversation, or you are not part of it.")
        if conversation_id not in self.subscriptions:
            await self.channel_layer.group_add(
                conversation_group(conversation_id), self.channel_name
            )
            self.subscriptions.add(conversation_id)
        # Messages committed after the query arrive as live events; the client drops any
        # seq it already has, so the overlap is harmless and nothing falls in a gap.
        for message in state.missed:
            await self.send_json({"type": "message.new", "message": message, "replay": True})
        await self.send_json(
            {
                "type": "subscribed",
                "conversation": conversation_id,
                "last_seq": state.last_seq,
                "has_more": state.has_more,
                "read": state.read_markers,
                "online": await hub_call(online_user_ids)(state.participant_ids),
            }
        )
        await self._broadcast_presence(conversation_id, online=True)

    async def _on_unsubscribe(self, frame: dict[str, Any]) -> None:
        conversation_id = _require_int(frame, "conversation", minimum=1)
        if conversation_id in self.subscriptions:
            self.subscriptions.discard(conversation_id)
            await self.channel_layer.group_discard(
                conversation_group(conversation_id), self.channel_name
            )
        await self.send_json({"type": "unsubscribed", "conversation": conversation_id})

    async def _on_send(self, frame: dict[str, Any]) -> None:
        conversation_id = _require_int(frame, "conversation", minimum=1)
        client_id = frame.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            raise FrameError("invalid", "“client_id” is required (a UUID made by the client).")
        text = frame.get("text", "")
        attachments = frame.get("attachments", [])
        result = await hub_call(_send_message)(
            user=self.user,
            conversation_id=conversation_id,
            client_id=client_id,
            text=text,
            attachments=attachments,
        )
        await self.send_json(
            {
                "type": "message.ack",
                "client_id": client_id,
                "conversation": conversation_id,
                "id": result.message.pk,
                "seq": result.message.seq,
                "duplicate": not result.created,
            }
        )

    async def _on_typing(self, frame: dict[str, Any]) -> None:
        conversation_id = _require_int(frame, "conversation", minimum=1)
        if conversation_id not in self.subscriptions:
            raise FrameError("not_subscribed", "Subscribe to the conversation first.")
        allowed = await hub_call(selectors.can_write)(
            user=self.user, conversation_id=conversation_id
        )
        if not allowed:
            raise FrameError("forbidden", "You cannot write in this conversation.")
        await self.channel_layer.group_send(
            conversation_group(conversation_id),
            {
                "type": "hub.event",
                "event": {
                    "type": "typing",
                    "conversation": conversation_id,
                    "user": self.user.pk,
                    "name": self.user.name,
                    "state": "stop" if frame.get("state") == "stop" else "start",
                },
            },
        )

    async def _on_read(self, frame: dict[str, Any]) -> None:
        conversation_id = _require_int(frame, "conversation", minimum=1)
        seq = _require_int(frame, "seq", minimum=0)
        marker = await hub_call(_mark_read)(
            user=self.user, conversation_id=conversation_id, seq=seq
        )
        if marker is None:
            raise FrameError("not_found", "No such conversation, or you are not part of it.")

    # -- Outgoing events ---------------------------------------------------------------------

    async def hub_event(self, event: dict[str, Any]) -> None:
        payload = event["event"]
        if payload.get("type") == "typing" and payload.get("user") == self.user.pk:
            return  # no echo of our own typing indicator
        await self.send_json(payload)

    async def hub_disconnect(self, event: dict[str, Any]) -> None:
        """The person's session(s) ended (logout, password change, suspension, erasure)."""
        only = event.get("session")
        if only and only != self._session_key():
            return  # another browser of the same person signed out
        await self._close_signed_out(event.get("code", "signed_out"), event.get("close_code", 4401))

    def _session_key(self) -> str | None:
        session = self.scope.get("session")
        return getattr(session, "session_key", None)

    async def _session_still_valid(self) -> bool:
        user = getattr(self, "user", None)
        if user is None or not user.is_authenticated:
            return True  # connect() already refused it
        now = time.monotonic()
        if now - getattr(self, "_session_checked_at", 0.0) < settings.WS_SESSION_RECHECK_SECONDS:
            return True
        valid = await hub_call(session_is_valid)(session=self.scope.get("session"), user_id=user.pk)
        if not valid:
            await self._close_signed_out("session_expired", 4401)
            return False
        self._session_checked_at = now
        return True

    async def _close_signed_out(self, code: str, close_code: int) -> None:
        messages = {
            "suspended": "This account is suspended.",
            "session_expired": "Your session has ended. Sign in again.",
        }
        await self.send_json(
            {
                "type": "error",
                "code": code,
                "message": messages.get(code, "You were signed out. Sign in again."),
            }
        )
        await self.close(code=close_code)

    async def _broadcast_presence(self, conversation_id: int, *, online: bool) -> None:
        await self.channel_layer.group_send(
            conversation_group(conversation_id),
            {
                "type": "hub.event",
                "event": {
                    "type": "presence",
                    "conversation": conversation_id,
                    "user": self.user.pk,
                    "online": online,
                },
            },
        )

    async def _error(
        self, code: str, message: str, frame: dict[str, Any] | None = None, **extra: Any
    ) -> None:
        body: dict[str, Any] = {"type": "error", "code": code, "message": message, **extra}
        if isinstance(frame, dict):
            if isinstance(frame.get("client_id"), str):
                body["client_id"] = frame["client_id"][:64]
            if isinstance(frame.get("type"), str):
                body["frame"] = frame["type"][:40]
            if isinstance(frame.get("conversation"), int):
                body["conversation"] = frame["conversation"]
        await self.send_json(body)


# Each helper below is one short unit of sync work behind one database_sync_to_async call.


def _send_message(
    *, user, conversation_id: int, client_id: str, text: Any, attachments: Any
) -> services.PostResult:
    conversation = selectors.conversation_for_writer(user=user, conversation_id=conversation_id)
    if conversation is None:
        if selectors.readable_conversation(user=user, conversation_id=conversation_id):
            raise FrameError(
                "read_only", "Moderators read conversations; act through the moderation console."
            )
        raise FrameError("not_found", "No such conversation, or you are not part of it.")
    if not isinstance(attachments, list):
        raise FrameError("invalid", "“attachments” must be a list of attachment ids.")
    # Retries of an already stored message are answered without spending a token.
    try:
        consume_token(f"send:{user.pk}", settings.WS_SEND_RATE)
    except RateLimited:
        from conversations.models import Message

        if not Message.objects.filter(author=user, client_id=client_id).exists():
            raise
    return services.post_message(
        conversation=conversation,
        author=user,
        text=text,
        client_id=client_id,
        attachment_ids=attachments,
        channel="web",
    )


def _mark_read(*, user, conversation_id: int, seq: int) -> int | None:
    conversation = selectors.conversation_for_writer(user=user, conversation_id=conversation_id)
    if conversation is None:
        return None
    return services.mark_read(conversation=conversation, user=user, seq=seq)
