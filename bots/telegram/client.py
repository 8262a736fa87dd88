"""The one place that builds an aiogram ``Bot``.

Settings (read lazily, so importing this module needs no configured Django):

- ``TELEGRAM_BOT_TOKEN``: BotFather token; empty means Telegram is not configured.
- ``TELEGRAM_API_BASE``: Bot API root, e.g. ``http://127.0.0.1:8081`` for a local Bot
  API server or the test stand-in; empty means ``https://api.telegram.org``.
- ``TELEGRAM_REQUEST_TIMEOUT``: seconds per Bot API call (default 10); long polling adds
  its own poll timeout on top, as aiogram does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import LinkPreviewOptions
from aiogram.utils.token import TokenValidationError

from bots.telegram.outbox import (
    DeliverFn,
    OutboundPhoto,
    OutboundRequest,
    OutboundText,
    SentMessage,
)

TELEGRAM_PRODUCTION_API_BASE = "https://api.telegram.org"
DEFAULT_REQUEST_TIMEOUT = 10.0


class _BotApiSession(AiohttpSession):
    """aiogram's session, minus the 250 ms pause on close when nothing speaks TLS.

    aiogram sleeps after closing so SSL transports can shut down cleanly; a plain-http
    Bot API (a local Bot API server, the test stand-in) has none, and the pause would
    otherwise be paid on every shutdown and every test.
    """

    async def close(self) -> None:
        if self.api.base.startswith("https://"):
            await super().close()
        elif self._session is not None and not self._session.closed:
            await self._session.close()


class TelegramNotConfigured(RuntimeError):
    """Raised when the bot is needed but no usable token is configured."""


@dataclass(frozen=True)
class TelegramConfig:
    bot_token: str
    api_base: str = TELEGRAM_PRODUCTION_API_BASE
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT


def load_telegram_config(settings_source: Any | None = None) -> TelegramConfig:
    """Read the Telegram settings; ``settings_source`` defaults to ``django.conf.settings``."""
    if settings_source is None:
        from django.conf import settings as settings_source  # lazy: importing must not need Django
    return TelegramConfig(
        bot_token=(getattr(settings_source, "TELEGRAM_BOT_TOKEN", "") or "").strip(),
        api_base=getattr(settings_source, "TELEGRAM_API_BASE", "") or TELEGRAM_PRODUCTION_API_BASE,
        request_timeout=float(
            getattr(settings_source, "TELEGRAM_REQUEST_TIMEOUT", DEFAULT_REQUEST_TIMEOUT)
        ),
    )


def create_bot(*, config: TelegramConfig | None = None, parse_mode: str | None = None) -> Bot:
    """Build a ``Bot`` whose HTTP session talks to ``config.api_base`` with a timeout.

    The caller owns the bot and closes it (``await bot.session.close()`` or
    ``async with bot:``). Raises :class:`TelegramNotConfigured` for an empty or
    malformed token, before any network traffic.
    """
    config = config or load_telegram_config()
    if not config.bot_token:
        msg = (
            "Telegram is not configured: TELEGRAM_BOT_TOKEN is empty. Set it to the "
            "token from @BotFather (and TELEGRAM_API_BASE for a local Bot API server)."
        )
        raise TelegramNotConfigured(msg)
    session = _BotApiSession(
        api=TelegramAPIServer.from_base(config.api_base),
        timeout=config.request_timeout,
    )
    try:
        return Bot(
            token=config.bot_token,
            session=session,
            default=DefaultBotProperties(parse_mode=parse_mode),
        )
    except TokenValidationError as error:
        msg = f"TELEGRAM_BOT_TOKEN is malformed ({error}); expected '<digits>:<secret>'."
        raise TelegramNotConfigured(msg) from error


async def deliver_outbound(bot: Bot, request: OutboundRequest) -> SentMessage:
    """Send one outbox request through ``bot``; aiogram's Telegram* errors propagate."""
    if isinstance(request, OutboundText):
        preview = (
            LinkPreviewOptions(
                url=request.preview_image_url, prefer_large_media=True, show_above_text=True
            )
            if request.preview_image_url
            else None
        )
        message = await bot.send_message(
            chat_id=request.chat_id,
            text=request.text,
            reply_markup=request.reply_markup,
            parse_mode=request.parse_mode,
            link_preview_options=preview,
            allow_paid_broadcast=True if request.paid_broadcast else None,
        )
    elif isinstance(request, OutboundPhoto):
        message = await bot.send_photo(
            chat_id=request.chat_id,
            photo=request.photo_url,
            caption=request.caption,
            reply_markup=request.reply_markup,
            parse_mode=request.parse_mode,
            allow_paid_broadcast=True if request.paid_broadcast else None,
        )
    else:
        msg = f"unsupported outbound request type: {type(request).__name__}"
        raise TypeError(msg)
    return SentMessage(chat_id=message.chat.id, message_id=message.message_id)


def bot_deliverer(bot: Bot) -> DeliverFn:
    """The ``deliver`` callable for :class:`bots.telegram.outbox.Outbox` bound to ``bot``."""

    async def deliver(request: OutboundRequest) -> SentMessage:
        return await deliver_outbound(bot, request)

    return deliver
