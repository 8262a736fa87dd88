"""Loopback stand-in for the Telegram Bot API, spoken to by the real aiogram 3 client.

aiogram (``AiohttpSession(api=TelegramAPIServer.from_base(standin.base_url))``) sends
every method as ``POST /bot<token>/<method>`` with a form body (multipart when files are
attached): strings travel as-is, everything else JSON-encoded (ints, bools, keyboards,
price lists), uploads as ``attach://<key>`` plus a file part named ``<key>``. It expects
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description": ...,
"parameters": {...}}`` and maps the HTTP status to its exception classes (400
TelegramBadRequest, 401 TelegramUnauthorizedError, 403 TelegramForbiddenError, 409
TelegramConflictError, 429 + ``retry_after`` TelegramRetryAfter).

Served methods: getMe, sendMessage, sendPhoto, sendInvoice, editMessageText,
editMessageReplyMarkup, deleteMessage, answerCallbackQuery, answerPreCheckoutQuery,
sendChatAction, setWebhook, deleteWebhook, getWebhookInfo, getUpdates. Anything else
answers 404 like the real API. See docs/telegram.md for the error catalogue.

Usage::

    with TelegramBotApiStandIn() as standin:
        bot = create_bot(config=TelegramConfig(bot_token=standin.token,
                                               api_base=standin.base_url))
        ...
        assert standin.sent_messages(42)[0]["text"] == "pong"
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import threading
import time
import zlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

DEFAULT_TOKEN = "123456789:AAStandInTokenForTestsOnly-0000000000"
BOT_USERNAME = "atelier_standin_bot"

# Methods that put a message into a chat and therefore count against flood limits.
SEND_METHODS = frozenset({"sendmessage", "sendphoto", "sendinvoice"})

# Fields that are strings in the Bot API even when they look like JSON ("123", "true").
_STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "title",
        "description",
        "payload",
        "provider_token",
        "currency",
        "parse_mode",
        "start_parameter",
        "provider_data",
        "photo",
        "photo_url",
        "url",
        "secret_token",
        "callback_query_id",
        "pre_checkout_query_id",
        "error_message",
        "action",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "ip_address",
    }
)

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply "
    "markup are exactly the same as a current content and reply markup of the message"
)


@dataclass(frozen=True)
class WindowLimit:
    """At most ``max_events`` accepted sends in any ``per_seconds`` window."""

    max_events: int
    per_seconds: float


@dataclass(frozen=True)
class StandInLimits:
    per_chat: WindowLimit = WindowLimit(1, 1.0)
    # On top of per_chat for groups, supergroups and channels.
    per_group: WindowLimit = WindowLimit(20, 60.0)
    overall: WindowLimit = WindowLimit(30, 1.0)
    # Sends with ``allow_paid_broadcast`` skip ``overall``; every send counts here.
    paid_overall: WindowLimit = WindowLimit(1000, 1.0)


@dataclass(frozen=True)
class UploadedFile:
    field_name: str
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class RecordedCall:
    """One request as the stand-in saw it; ``params`` are decoded to Python values."""

    method: str
    params: dict[str, Any]
    token: str
    status: int
    response: dict[str, Any]
    at: float  # time.monotonic() when the request was answered

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def description(self) -> str:
        return str(self.response.get("description", ""))


class _ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _utf16_length(text: str) -> int:
    """Telegram counts text in UTF-16 code units: an emoji beyond the BMP is two."""
    return len(text.encode("utf-16-le")) // 2


def _bad_request(reason: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {reason}")


_update_ids = itertools.count(100_000)


def _next_update_id() -> int:
    return next(_update_ids)


def _user(user_id: int, first_name: str = "Buyer", language_code: str = "en") -> dict[str, Any]:
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "language_code": language_code,
    }


def _private_chat(chat_id: int, first_name: str = "Buyer") -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": first_name}


def message_update(
    *,
    chat_id: int,
    text: str,
    user_id: int | None = None,
    message_id: int = 1,
    update_id: int | None = None,
    first_name: str = "Buyer",
    language_code: str = "en",
) -> dict[str, Any]:
    """A Telegram ``Update`` dict for a user's text message in a private chat."""
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": _private_chat(chat_id, first_name),
        "from": _user(user_id or chat_id, first_name, language_code),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": update_id or _next_update_id(), "message": message}


def callback_query_update(
    *,
    chat_id: int,
    data: str,
    message_id: int = 1,
    message_text: str = "",
    user_id: int | None = None,
    query_id: str | None = None,
    update_id: int | None = None,
) -> dict[str, Any]:
    """An ``Update`` for a press on an inline button under one of the bot's messages."""
    update_id = update_id or _next_update_id()
    return {
        "update_id": update_id,
        "callback_query": {
            "id": query_id or f"cbq-{update_id}",
            "from": _user(user_id or chat_id),
            "chat_instance": f"ci-{chat_id}",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": _private_chat(chat_id),
                "from": {"id": 123456789, "is_bot": True, "first_name": "Atelier"},
                "text": message_text,
            },
        },
    }


def pre_checkout_query_update(
    *,
    user_id: int,
    invoice_payload: str,
    total_amount: int,
    currency: str = "EUR",
    query_id: str | None = None,
    update_id: int | None = None,
) -> dict[str, Any]:
    """An ``Update`` Telegram sends before charging the buyer for an invoice."""
    update_id = update_id or _next_update_id()
    return {
        "update_id": update_id,
        "pre_checkout_query": {
            "id": query_id or f"pcq-{update_id}",
            "from": _user(user_id),
            "currency": currency,
            "total_amount": total_amount,
            "invoice_payload": invoice_payload,
        },
    }


@dataclass
class _ForcedRetryAfter:
    remaining: int
    retry_after: int
    methods: frozenset[str]


@dataclass
class _State:
    known_chats: set[int | str] | None
    blocked_chats: set[int | str]
    limits: StandInLimits
    enforce_rate_limits: bool
    calls: list[RecordedCall] = field(default_factory=list)
    messages: dict[int | str, list[dict[str, Any]]] = field(default_factory=dict)
    message_ids: dict[int | str, itertools.count[int]] = field(default_factory=dict)
    send_times: dict[Any, deque[float]] = field(default_factory=dict)
    paid_broadcasts: int = 0
    updates: list[dict[str, Any]] = field(default_factory=list)
    forced: _ForcedRetryAfter | None = None
    # A flood: every send is answered 429 until then (time.monotonic()).
    storm_until: float = 0.0
    storm_retry_after: int = 1
    webhook: dict[str, Any] = field(default_factory=dict)
    file_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


class TelegramBotApiStandIn:
    """A Bot API server on 127.0.0.1 in a background thread (context manager).

    ``known_chats=None`` accepts every chat id; pass a set to answer "chat not found"
    for the others. Flood limits are off unless ``enforce_rate_limits=True`` (tests of
    single handlers send several messages in a row, which real Telegram tolerates in
    short bursts); :meth:`force_retry_after` injects 429s regardless.
    """

    def __init__(
        self,
        *,
        tokens: Iterable[str] = (DEFAULT_TOKEN,),
        known_chats: Iterable[int | str] | None = None,
        blocked_chats: Iterable[int | str] = (),
        enforce_rate_limits: bool = False,
        limits: StandInLimits | None = None,
        max_poll_seconds: float = 0.5,
    ) -> None:
        self.tokens = tuple(tokens)
        self.max_poll_seconds = max_poll_seconds
        self._lock = threading.Lock()
        self._state = _State(
            known_chats=set(known_chats) if known_chats is not None else None,
            blocked_chats=set(blocked_chats),
            limits=limits or StandInLimits(),
            enforce_rate_limits=enforce_rate_limits,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._stopping = threading.Event()

    # ------------------------------------------------------------ lifecycle

    @property
    def token(self) -> str:
        return self.tokens[0]

    @property
    def bot_id(self) -> int:
        return int(self.token.split(":", 1)[0])

    @property
    def base_url(self) -> str:
        if self._port is None:
            msg = "the Telegram stand-in is not running; call start() first"
            raise RuntimeError(msg)
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> TelegramBotApiStandIn:
        self._stopping.clear()
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._start_site())
            except BaseException as error:  # reported to the starting thread
                failure.append(error)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup() if self._runner else asyncio.sleep(0))
            loop.close()

        self._thread = threading.Thread(target=serve, name="telegram-standin", daemon=True)
        self._thread.start()
        if not started.wait(timeout=10):
            msg = "the Telegram stand-in did not start within 10s"
            raise RuntimeError(msg)
        if failure:
            raise failure[0]
        return self

    async def _start_site(self) -> None:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    def stop(self) -> None:
        self._stopping.set()  # ends pending long polls so shutdown does not wait for them
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop = None
        self._thread = None
        self._port = None

    def __enter__(self) -> TelegramBotApiStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------- test controls

    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._state.calls)

    @property
    def paid_broadcasts(self) -> int:
        """Messages accepted with ``allow_paid_broadcast`` (each would cost 0.1 Star)."""
        with self._lock:
            return self._state.paid_broadcasts

    def calls_to(self, method: str) -> list[RecordedCall]:
        """Recorded calls of one method (case-insensitive), successful or not."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def sent_messages(self, chat_id: int | str) -> list[dict[str, Any]]:
        """Messages the bot has in ``chat_id``, oldest first, with later edits applied."""
        with self._lock:
            return json.loads(json.dumps(self._state.messages.get(chat_id, [])))

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; assigns ``update_id`` when missing."""
        update = dict(update)
        update.setdefault("update_id", _next_update_id())
        with self._lock:
            self._state.updates.append(update)
        return int(update["update_id"])

    @property
    def pending_updates(self) -> int:
        with self._lock:
            return len(self._state.updates)

    def force_retry_after(
        self, times: int, *, retry_after: int = 1, methods: Iterable[str] = SEND_METHODS
    ) -> None:
        """Answer the next ``times`` calls of ``methods`` with 429 + ``retry_after``."""
        with self._lock:
            self._state.forced = _ForcedRetryAfter(
                remaining=times,
                retry_after=retry_after,
                methods=frozenset(method.lower() for method in methods),
            )

    def storm(self, seconds: float, *, retry_after: int = 1) -> None:
        """A sustained flood: for the next ``seconds``, every send (sendMessage, sendPhoto,
        sendInvoice) is answered 429 with ``retry_after``, as Telegram does to a bot that
        went over its limits."""
        with self._lock:
            self._state.storm_until = time.monotonic() + seconds
            self._state.storm_retry_after = retry_after

    def block_chat(self, chat_id: int | str) -> None:
        with self._lock:
            self._state.blocked_chats.add(chat_id)

    def unblock_chat(self, chat_id: int | str) -> None:
        with self._lock:
            self._state.blocked_chats.discard(chat_id)

    def set_known_chats(self, chat_ids: Iterable[int | str] | None) -> None:
        """Only these chats exist from now on (``None``: every chat id exists)."""
        with self._lock:
            self._state.known_chats = set(chat_ids) if chat_ids is not None else None

    def set_rate_limits(self, *, enforce: bool, limits: StandInLimits | None = None) -> None:
        with self._lock:
            self._state.enforce_rate_limits = enforce
            if limits is not None:
                self._state.limits = limits
            self._state.send_times.clear()

    @property
    def webhook_url(self) -> str:
        with self._lock:
            return str(self._state.webhook.get("url", ""))

    async def wait_for_messages(
        self, chat_id: int | str, count: int = 1, *, within_seconds: float = 3.0
    ) -> list[dict[str, Any]]:
        """Poll (from the test's event loop) until ``chat_id`` holds ``count`` messages."""
        deadline = time.monotonic() + within_seconds
        while True:
            messages = self.sent_messages(chat_id)
            if len(messages) >= count or time.monotonic() >= deadline:
                return messages
            await asyncio.sleep(0.01)

    # ---------------------------------------------------------------- HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        params, files = await self._read_params(request)
        try:
            if token not in self.tokens:
                raise _ApiError(401, "Unauthorized")
            if method.lower() == "getupdates":
                result = await self._get_updates(params)
            else:
                with self._lock:
                    result = self._call(method.lower(), params, files)
            status, body = 200, {"ok": True, "result": result}
        except _ApiError as error:
            status, body = error.status, error.payload()
        except Exception as error:  # a stand-in bug: make it loud and attributable
            status = 500
            body = {
                "ok": False,
                "error_code": 500,
                "description": f"Internal Server Error: stand-in failed: {error!r}",
            }
        recorded_params = {**params, **{key: file for key, file in files.items()}}
        with self._lock:
            self._state.calls.append(
                RecordedCall(
                    method=method,
                    params=recorded_params,
                    token=token,
                    status=status,
                    response=body,
                    at=time.monotonic(),
                )
            )
        return web.json_response(body, status=status)

    async def _read_params(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
        params: dict[str, Any] = {
            key: _decode_field(key, value) for key, value in request.query.items()
        }
        files: dict[str, UploadedFile] = {}
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
            return params, files
        if request.method != "POST":
            return params, files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = UploadedFile(
                    field_name=key,
                    filename=value.filename,
                    content_type=value.content_type,
                    content=value.file.read(),
                )
            else:
                params[key] = _decode_field(key, str(value))
        # Resolve attach://<key> references to the uploaded parts they name.
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                upload = files.pop(value.removeprefix("attach://"), None)
                if upload is not None:
                    params[key] = upload
        return params, files

    # ------------------------------------------------------------ methods

    def _call(self, method: str, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        handler = {
            "getme": self._get_me,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "sendinvoice": self._send_invoice,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "answerprecheckoutquery": self._answer_pre_checkout_query,
            "sendchataction": self._send_chat_action,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
        }.get(method)
        if handler is None:
            raise _ApiError(404, "Not Found")
        self._apply_forced_retry_after(method)
        return handler(params)

    def _apply_forced_retry_after(self, method: str) -> None:
        state = self._state
        if method in SEND_METHODS and time.monotonic() < state.storm_until:
            raise _ApiError(
                429,
                f"Too Many Requests: retry after {state.storm_retry_after}",
                retry_after=state.storm_retry_after,
            )
        forced = self._state.forced
        if forced is None or forced.remaining <= 0 or method not in forced.methods:
            return
        forced.remaining -= 1
        raise _ApiError(
            429,
            f"Too Many Requests: retry after {forced.retry_after}",
            retry_after=forced.retry_after,
        )

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Atelier",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._bot_user()

    def _chat(self, params: dict[str, Any]) -> dict[str, Any]:
        raw = params.get("chat_id")
        if raw in (None, ""):
            raise _bad_request("chat_id is empty")
        chat_id: int | str = raw
        if isinstance(raw, str) and raw.lstrip("-").isdigit():
            chat_id = int(raw)
        state = self._state
        if state.known_chats is not None and chat_id not in state.known_chats:
            raise _bad_request("chat not found")
        if chat_id in state.blocked_chats:
            if isinstance(chat_id, int) and chat_id > 0:
                raise _ApiError(403, "Forbidden: bot was blocked by the user")
            raise _ApiError(403, "Forbidden: bot was kicked from the group chat")
        if isinstance(chat_id, str):
            if not chat_id.startswith("@"):
                raise _bad_request("chat not found")
            return {
                "id": -(1_000_000_000_000 + zlib.crc32(chat_id.encode())),
                "type": "channel",
                "title": chat_id[1:],
                "username": chat_id[1:],
            }
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Buyer"}
        if str(chat_id).startswith("-100"):
            return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}
        return {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}

    def _flood_windows(
        self, chat: dict[str, Any], paid: bool = False
    ) -> list[tuple[Any, WindowLimit]]:
        """Paid broadcasts (``allow_paid_broadcast``) are outside the free 30/s window but
        inside the 1,000/s one that counts every send; the per-chat limits stay."""
        limits = self._state.limits
        windows: list[tuple[Any, WindowLimit]] = [
            ("overall-all", limits.paid_overall),
            (("chat", chat["id"]), limits.per_chat),
        ]
        if not paid:
            windows.append(("overall", limits.overall))
        if chat["type"] != "private":
            windows.append((("group", chat["id"]), limits.per_group))
        return windows

    def _check_flood(self, chat: dict[str, Any], paid: bool = False) -> None:
        """429 when accepting one more send would break Telegram's published limits."""
        state = self._state
        if not state.enforce_rate_limits:
            return
        now = time.monotonic()
        for key, limit in self._flood_windows(chat, paid):
            times = state.send_times.setdefault(key, deque())
            while times and times[0] <= now - limit.per_seconds:
                times.popleft()
            if len(times) >= limit.max_events:
                wait = times[len(times) - limit.max_events] + limit.per_seconds - now
                retry_after = max(1, math.ceil(wait))
                raise _ApiError(
                    429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
                )

    def _count_send(self, chat: dict[str, Any], paid: bool = False) -> None:
        if paid:
            self._state.paid_broadcasts += 1  # what the bot's Stars balance would pay for
        if not self._state.enforce_rate_limits:
            return
        now = time.monotonic()
        for key, _ in self._flood_windows(chat, paid):
            self._state.send_times.setdefault(key, deque()).append(now)

    def _store_message(
        self, chat: dict[str, Any], *, paid: bool = False, **content: Any
    ) -> dict[str, Any]:
        state = self._state
        counter = state.message_ids.setdefault(chat["id"], itertools.count(1))
        message = {
            "message_id": next(counter),
            "date": int(time.time()),
            "chat": chat,
            "from": self._bot_user(),
            **{key: value for key, value in content.items() if value is not None},
        }
        state.messages.setdefault(chat["id"], []).append(message)
        self._count_send(chat, paid)
        return message

    def _find_message(self, params: dict[str, Any], verb: str) -> dict[str, Any]:
        chat = self._chat(params)
        message_id = params.get("message_id")
        for message in self._state.messages.get(chat["id"], []):
            if message["message_id"] == message_id:
                return message
        raise _bad_request(f"message to {verb} not found")

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        text = params.get("text") or ""
        if not text.strip():
            raise _bad_request("message text is empty")
        if _utf16_length(text) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        markup = _inline_markup(params.get("reply_markup"))
        paid = params.get("allow_paid_broadcast") is True
        preview = params.get("link_preview_options")
        if preview is not None and not isinstance(preview, dict):
            raise _bad_request("can't parse link preview options JSON object")
        self._check_flood(chat, paid)
        return self._store_message(
            chat, text=text, reply_markup=markup, paid=paid, link_preview_options=preview
        )

    def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        photo = params.get("photo")
        if photo in (None, ""):
            raise _bad_request("there is no photo in the request")
        if isinstance(photo, str) and photo.startswith("attach://"):
            raise _bad_request("wrong file identifier/HTTP URL specified")
        caption = params.get("caption")
        if caption is not None and _utf16_length(caption) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
        markup = _inline_markup(params.get("reply_markup"))
        paid = params.get("allow_paid_broadcast") is True
        self._check_flood(chat, paid)
        serial = next(self._state.file_ids)
        sizes = [
            {
                "file_id": f"AgACAgStandInPhoto{serial}-{side}",
                "file_unique_id": f"AQADphoto{serial}{side}",
                "width": side,
                "height": side,
                "file_size": side * side // 10,
            }
            for side in (90, 320, 800)
        ]
        return self._store_message(
            chat, photo=sizes, caption=caption, reply_markup=markup, paid=paid
        )

    def _send_invoice(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        title = params.get("title") or ""
        description = params.get("description") or ""
        payload = params.get("payload") or ""
        currency = params.get("currency") or ""
        prices = params.get("prices")
        if not 1 <= len(title) <= 32:
            raise _bad_request("INVOICE_TITLE_INVALID")
        if not 1 <= len(description) <= 255:
            raise _bad_request("INVOICE_DESCRIPTION_INVALID")
        if not 1 <= len(payload.encode()) <= 128:
            raise _bad_request("INVOICE_PAYLOAD_INVALID")
        if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
            raise _bad_request("CURRENCY_INVALID")
        if not isinstance(prices, list) or not prices:
            raise _bad_request("can't parse prices JSON object")
        for price in prices:
            if not isinstance(price, dict) or not isinstance(price.get("amount"), int):
                raise _bad_request("can't parse prices JSON object")
        total = sum(price["amount"] for price in prices)
        if total <= 0:
            raise _bad_request("INVOICE_AMOUNT_INVALID")
        markup = _inline_markup(params.get("reply_markup"))
        self._check_flood(chat)
        invoice = {
            "title": title,
            "description": description,
            "start_parameter": params.get("start_parameter") or "",
            "currency": currency,
            "total_amount": total,
        }
        return self._store_message(chat, invoice=invoice, reply_markup=markup)

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        text = params.get("text") or ""
        if not text.strip():
            raise _bad_request("message text is empty")
        if _utf16_length(text) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        markup = _inline_markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        message = self._find_message(params, "edit")
        if "text" not in message:
            raise _bad_request("there is no text in the message to edit")
        if message["text"] == text and message.get("reply_markup") == markup:
            raise _bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        message["text"] = text
        _set_markup(message, markup)
        message["edit_date"] = int(time.time())
        return message

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        markup = _inline_markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        message = self._find_message(params, "edit")
        if message.get("reply_markup") == markup:
            raise _bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        _set_markup(message, markup)
        message["edit_date"] = int(time.time())
        return message

    def _delete_message(self, params: dict[str, Any]) -> bool:
        message = self._find_message(params, "delete")
        self._state.messages[message["chat"]["id"]].remove(message)
        return True

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        if not params.get("callback_query_id"):
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(params.get("text") or "") > 200:
            raise _bad_request("MESSAGE_TOO_LONG")
        return True

    def _answer_pre_checkout_query(self, params: dict[str, Any]) -> bool:
        if not params.get("pre_checkout_query_id"):
            raise _bad_request("QUERY_ID_INVALID")
        if params.get("ok") is not True and not params.get("error_message"):
            raise _bad_request("ERROR_MESSAGE_EMPTY")
        return True

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        self._chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url") or ""
        if url and not url.startswith("https://"):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if params.get("drop_pending_updates"):
            self._state.updates.clear()
        self._state.webhook = (
            {"url": url, "secret_token": params.get("secret_token")} if url else {}
        )
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            self._state.updates.clear()
        self._state.webhook = {}
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self._state.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._state.updates),
        }

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self._lock:
            if self._state.webhook.get("url"):
                raise _ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        # Long polling, shortened so tests and dispatcher shutdowns stay fast.
        wait = min(float(params.get("timeout") or 0), self.max_poll_seconds)
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                # As in the real API, asking from `offset` confirms everything before it.
                self._state.updates = [
                    update for update in self._state.updates if update["update_id"] >= offset
                ]
                ready = sorted(self._state.updates, key=lambda update: update["update_id"])
            if ready or time.monotonic() >= deadline or self._stopping.is_set():
                return ready[:limit]
            await asyncio.sleep(0.01)


def _decode_field(key: str, raw: str) -> Any:
    if key in _STRING_FIELDS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _inline_markup(markup: Any) -> dict[str, Any] | None:
    """Validate a reply_markup; only inline keyboards are echoed back in the Message."""
    if markup in (None, ""):
        return None
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return None  # reply keyboards / force_reply are accepted but not echoed
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise _bad_request(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise _bad_request("BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not str(url).startswith(("http://", "https://", "tg://")):
                raise _bad_request("BUTTON_URL_INVALID")
    return {"inline_keyboard": rows}


def _set_markup(message: dict[str, Any], markup: dict[str, Any] | None) -> None:
    if markup is None:
        message.pop("reply_markup", None)
    else:
        message["reply_markup"] = markup
