"""The webhook mode's per-process objects: one Bot (update context only), the process's
sender, and one Dispatcher — built on first use, per Telegram configuration."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from aiogram import Bot, Dispatcher

from bots.dispatcher import build_dispatcher
from bots.sender import get_sender
from bots.telegram.client import TelegramConfig, create_bot, load_telegram_config


@dataclass(frozen=True)
class BotRuntime:
    bot: Bot
    dispatcher: Dispatcher


_runtimes: dict[tuple[str, str], BotRuntime] = {}
_lock = threading.Lock()


def get_bot_runtime(config: TelegramConfig | None = None) -> BotRuntime:
    """Raises ``TelegramNotConfigured`` when TELEGRAM_BOT_TOKEN is empty or malformed.

    Handlers send everything through the sender (its own loop), so this Bot never opens
    an HTTP session and can serve any event loop the web server runs updates on.
    """
    config = config or load_telegram_config()
    key = (config.bot_token, config.api_base)
    with _lock:
        runtime = _runtimes.get(key)
        if runtime is None:
            runtime = BotRuntime(
                bot=create_bot(config=config),
                dispatcher=build_dispatcher(sender=get_sender(config)),
            )
            _runtimes[key] = runtime
        return runtime


def reset_bot_runtimes() -> None:
    with _lock:
        _runtimes.clear()
