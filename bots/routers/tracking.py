"""Order tracking: ``/orders`` and ``/orders AT-XXXXXX`` (only the buyer's own orders)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bots.bot_services import BotServices
from bots.models import TelegramAccount


def build_router() -> Router:
    router = Router(name="tracking")

    @router.message(Command("orders", "track"))
    async def orders(
        message: Message, command: CommandObject, account: TelegramAccount, services: BotServices
    ) -> None:
        reference = (command.args or "").strip().upper()
        entities = {"order_ref": [reference]} if reference else {}
        await services.run_command(account, "action_order_status", entities)

    return router
