"""Discovery: ``/search``, and the "Details" button under product cards."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bots.bot_services import BotServices
from bots.models import TelegramAccount
from bots.routers.common import answer_callback
from bots.sender import TelegramSender
from bots.telegram.keyboards import ProductAction, ProductActionKind


def build_router() -> Router:
    router = Router(name="discovery")

    @router.message(Command("search"))
    async def search(
        message: Message, command: CommandObject, account: TelegramAccount, services: BotServices
    ) -> None:
        await services.search_products(account, command.args or "")

    @router.callback_query(ProductAction.filter(F.action == ProductActionKind.DETAILS))
    async def details(
        query: CallbackQuery,
        callback_data: ProductAction,
        account: TelegramAccount,
        services: BotServices,
        sender: TelegramSender,
    ) -> None:
        await answer_callback(sender, query)
        await services.run_command(
            account, "action_product_details", {"product_id": [str(callback_data.product_id)]}
        )

    return router
