"""The chat WebSocket: one socket per browser tab, many conversations over it.

Protocol (docs/protocol.md): the client subscribes to conversations (with ``after_seq`` to
resume), sends messages with a ``client_id`` (acked, idempotent), typing and read frames.
Every frame is parsed once into a typed frame (``conversations/protocol.py``, a
discriminated union on ``type``) and authorised on its own; a bad frame gets an ``error``
frame and never closes the socket or affects other conversations. Events to groups (typing,
presence included) leave through ``conversations/events.py``. The database, not the channel
layer, is the source of truth: a client that missed events resumes from its last ``seq``.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import translation

from conversations import selectors, services
from conversations.events import (
    collected_events,
    conversation_group,
    send_collected,
    send_event,
    user_group,
)
from conversations.presence import mark_offline, mark_online, online_user_ids
from conversations.protocol import (
    PROTOCOL_VERSION,
    ClientFrame,
    FrameError,
    PingFrame,
    ReadFrame,
    SendFrame,
    SubscribeFrame,
    TypingFrame,
    UnsubscribeFrame,
    decode_client_text,
    parse_client_frame,
)
from conversations.session_revocation import session_is_valid
from core.logs import bind_websocket_connection

logger = logging.getLogger(__name__)


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

    Events the work commits are sent from the loop when it returns (one hop for the call,
    none per event), before the caller answers the client.
    """
    sync = database_sync_to_async(func, thread_sensitive=False, executor=_executor())

    async def call(*args, **kwargs):
        events: list = []
        token = collected_events.set(events)
        try:
            return await sync(*args, **kwargs)
        finally:
            collected_events.reset(token)
            if events:
                await send_collected(events)

    return call


RESUME_PAGE = 200


class ChatConsumer(AsyncJsonWebsocketConsumer):
    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' own dispatch first runs ``close_old_connections`` through a hop to its
        single thread-sensitive thread, for every frame and every event delivered: with a
        thousand sockets that one thread serialised all of them (docs/performance.md). This
        consumer never touches the ORM on the loop; its database work runs in ``hub_call``,
        which closes stale connections on the pool thread that uses them."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

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
        await self.send_json({"type": "hello", "user": self.user.pk, "protocol": PROTOCOL_VERSION})

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
        try:
            content = decode_client_text(message.get("text"))
        except FrameError as exc:
            await self._error(exc.code, exc.message)
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        try:
            frame = parse_client_frame(content)
        except FrameError as exc:
            await self._error(exc.code, exc.message, content)
            return
        try:
            await self._dispatch(frame)
        except FrameError as exc:
            await self._error(exc.code, exc.message, content)
        except services.SendRateLimited as exc:
            await self._error(
                exc.code, exc.message, content, retry_after=max(0.1, round(exc.retry_after, 1))
            )
        except services.HubError as exc:
            await self._error(exc.code, exc.message, content)
        except Exception:
            logger.exception("Frame %s failed", frame.type)
            await self._error("server_error", "Something went wrong. Try again.", content)

    async def _dispatch(self, frame: ClientFrame) -> None:
        match frame:
            case SubscribeFrame():
                await self._on_subscribe(frame)
            case UnsubscribeFrame():
                await self._on_unsubscribe(frame)
            case SendFrame():
                await self._on_send(frame)
            case TypingFrame():
                await self._on_typing(frame)
            case ReadFrame():
                await self._on_read(frame)
            case PingFrame():
                await self._on_ping(frame)

    async def _on_ping(self, frame: PingFrame) -> None:
        await hub_call(mark_online)(self.user.pk, refresh_only=True)
        await self.send_json({"type": "pong"})

    async def _on_subscribe(self, frame: SubscribeFrame) -> None:
        conversation_id = frame.conversation
        state = await hub_call(selectors.subscription_state)(
            user=self.user,
            conversation_id=conversation_id,
            after_seq=frame.after_seq,
            after_update_seq=frame.after_update_seq,
            limit=RESUME_PAGE,
        )
        if state is None:
            raise FrameError("not_found", "No such conversation, or you are not part of it.")
        joined = conversation_id not in self.subscriptions
        if joined:
            await self.channel_layer.group_add(
                conversation_group(conversation_id), self.channel_name
            )
            self.subscriptions.add(conversation_id)
        await self._replay(changed=state.changed, missed=state.missed)
        # What committed between the query and joining the group came as no live event:
        # replay it too (the client drops a seq it holds; a change redraws harmlessly). One
        # hop for that check and the presence read.
        late, online = await hub_call(_after_join)(state, conversation_id, check=joined)
        await self._replay(changed=late.changed, missed=late.missed)
        await self.send_json(
            {
                "type": "subscribed",
                "conversation": conversation_id,
                "last_seq": state.last_seq,
                "update_seq": state.update_seq,
                "has_more": state.has_more,
                "read": state.read_markers,
                "online": online,
            }
        )
        await self._broadcast_presence(conversation_id, online=True)

    async def _replay(self, *, changed: list[dict], missed: list[dict]) -> None:
        """Changes to messages the client holds, then the messages it lacks (``replay``)."""
        for message in changed:
            await self.send_json({"type": "message.updated", "message": message, "replay": True})
        for message in missed:
            await self.send_json({"type": "message.new", "message": message, "replay": True})

    async def _on_unsubscribe(self, frame: UnsubscribeFrame) -> None:
        conversation_id = frame.conversation
        if conversation_id in self.subscriptions:
            self.subscriptions.discard(conversation_id)
            await self.channel_layer.group_discard(
                conversation_group(conversation_id), self.channel_name
            )
        await self.send_json({"type": "unsubscribed", "conversation": conversation_id})

    async def _on_send(self, frame: SendFrame) -> None:
        result = await hub_call(_send_message)(
            user=self.user,
            conversation_id=frame.conversation,
            client_id=frame.client_id,
            text=frame.text,
            attachments=frame.attachments,
        )
        await self.send_json(
            {
                "type": "message.ack",
                "client_id": frame.client_id,
                "conversation": frame.conversation,
                "id": result.message.pk,
                "seq": result.message.seq,
                "duplicate": not result.created,
            }
        )

    async def _on_typing(self, frame: TypingFrame) -> None:
        conversation_id = frame.conversation
        if conversation_id not in self.subscriptions:
            raise FrameError("not_subscribed", "Subscribe to the conversation first.")
        allowed = await hub_call(selectors.can_write)(
            user=self.user, conversation_id=conversation_id
        )
        if not allowed:
            raise FrameError("forbidden", "You cannot write in this conversation.")
        await send_event(
            conversation_group(conversation_id),
            "typing",
            {
                "conversation": conversation_id,
                "user": self.user.pk,
                "name": self.user.name,
                "state": frame.state,
            },
        )

    async def _on_read(self, frame: ReadFrame) -> None:
        marker = await hub_call(_mark_read)(
            user=self.user, conversation_id=frame.conversation, seq=frame.seq
        )
        if marker is None:
            raise FrameError("not_found", "No such conversation, or you are not part of it.")

    # -- Outgoing events ---------------------------------------------------------------------

    async def hub_event(self, event: dict[str, Any]) -> None:
        payload = event["event"]
        if payload.get("type") == "typing" and payload.get("user") == self.user.pk:
            return  # no echo of our own typing indicator
        if event.get("unless_subscribed") in self.subscriptions:
            return  # the conversation's own group brought this socket the same news
        await self.send_json(payload)

    async def hub_resync(self, event: dict[str, Any]) -> None:
        """The channel layer lost Redis and re-subscribed: live events may be missing.

        Sent by conversations/channel_layer.py; the client subscribes again with
        ``after_seq`` and the database replays whatever the layer dropped.
        """
        await self.send_json({"type": "resync"})

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
        await send_event(
            conversation_group(conversation_id),
            "presence",
            {"conversation": conversation_id, "user": self.user.pk, "online": online},
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
            conversation = frame.get("conversation")
            if isinstance(conversation, int) and not isinstance(conversation, bool):
                body["conversation"] = conversation
        await self.send_json(body)


# Each helper below is one short unit of sync work behind one database_sync_to_async call.


def _send_message(
    *, user, conversation_id: int, client_id: str, text: str, attachments: list[int]
) -> services.PostResult:
    # The service checks access (on PostgreSQL inside the write itself) and applies the
    # send-rate limit (shared by every channel, retries exempt); its refusals are worded in
    # the sender's language.
    with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
        try:
            return services.post_user_message(
                conversation_id=conversation_id,
                author=user,
                text=text,
                client_id=client_id,
                attachment_ids=attachments,
                channel="web",
            )
        except services.NotAParticipant:
            if selectors.is_read_only_observer(user=user, conversation_id=conversation_id):
                raise FrameError(
                    "read_only",
                    "Moderators read conversations; act through the moderation console.",
                ) from None
            raise FrameError(
                "not_found", "No such conversation, or you are not part of it."
            ) from None


def _after_join(
    state: selectors.SubscriptionState, conversation_id: int, *, check: bool
) -> tuple[selectors.LateChanges, list[int]]:
    """The late changes (when the socket just joined the group) and who is online."""
    late = selectors.LateChanges(missed=[], changed=[])
    if check:
        late = selectors.changes_after(
            conversation_id=conversation_id,
            last_seq=state.last_seq,
            update_seq=state.update_seq,
            limit=RESUME_PAGE,
        )
    return late, online_user_ids(state.participant_ids)


def _mark_read(*, user, conversation_id: int, seq: int) -> int | None:
    conversation = selectors.conversation_for_writer(user=user, conversation_id=conversation_id)
    if conversation is None:
        return None
    return services.mark_read(conversation=conversation, user=user, seq=seq)
