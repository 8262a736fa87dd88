"""``make bot``: run the Telegram bot with long polling (development), or manage the
production webhook (``--set-webhook URL`` / ``--delete-webhook``)."""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bots.dispatcher import build_dispatcher
from bots.sender import TelegramSender, register_sender
from bots.telegram.client import TelegramNotConfigured, create_bot, load_telegram_config

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the Telegram bot (long polling) or set/delete its webhook."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--set-webhook", metavar="URL", help="register URL (https) and exit")
        parser.add_argument(
            "--delete-webhook", action="store_true", help="remove the webhook and exit"
        )
        parser.add_argument(
            "--drop-pending-updates", action="store_true", help="discard updates queued at Telegram"
        )

    def handle(self, *args, **options) -> None:
        config = load_telegram_config()
        try:
            bot = create_bot(config=config)
        except TelegramNotConfigured as error:
            raise CommandError(str(error)) from error
        try:
            asyncio.run(self._run(bot, config, options))
        except KeyboardInterrupt:
            pass

    async def _run(self, bot, config, options) -> None:
        drop = bool(options["drop_pending_updates"])
        try:
            if options["set_webhook"]:
                secret = getattr(settings, "TELEGRAM_WEBHOOK_SECRET", "")
                if not secret:
                    raise CommandError("Set TELEGRAM_WEBHOOK_SECRET before registering a webhook.")
                await bot.set_webhook(
                    url=options["set_webhook"], secret_token=secret, drop_pending_updates=drop
                )
                self.stdout.write(self.style.SUCCESS(f"Webhook set to {options['set_webhook']}"))
                return
            # Polling and a webhook exclude each other (Telegram answers 409).
            await bot.delete_webhook(drop_pending_updates=drop)
            if options["delete_webhook"]:
                self.stdout.write(self.style.SUCCESS("Webhook deleted"))
                return
            sender = TelegramSender(config=config).start()
            register_sender(sender)
            dispatcher = build_dispatcher(sender=sender)
            me = await bot.get_me()
            self.stdout.write(f"Polling as @{me.username} via {config.api_base} (Ctrl+C to stop)")
            try:
                await dispatcher.start_polling(
                    bot, allowed_updates=dispatcher.resolve_used_update_types()
                )
            finally:
                await asyncio.to_thread(sender.stop)
        finally:
            await bot.session.close()
