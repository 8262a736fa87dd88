"""What bot handlers may do, as awaitables: one ``sync_to_async`` per service call.

An instance is put into the dispatcher's workflow data (``dispatcher["services"]``) and
arrives in handlers as the ``services`` keyword argument; tests may inject another one.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async

from bots import services
from bots.models import TelegramAccount
from bots.services import InvoiceSpec, PurchaseOutcome, TelegramIdentity
from conversations.models import Message


class BotServices:
    async def claim_update(self, update_id: int) -> bool:
        return await sync_to_async(services.claim_update)(update_id=update_id)

    async def account_for(self, identity: TelegramIdentity) -> TelegramAccount:
        return await sync_to_async(services.get_or_create_guest_buyer)(identity=identity)

    async def start_chat(self, account: TelegramAccount, start_payload: str) -> list[Message]:
        return await sync_to_async(services.start_chat)(
            account=account, start_payload=start_payload
        )

    async def run_command(
        self, account: TelegramAccount, action: str, entities: dict[str, list[str]] | None = None
    ) -> list[Message]:
        return await sync_to_async(services.run_command)(
            account=account, action=action, entities=entities
        )

    async def incoming_text(
        self, account: TelegramAccount, text: str, client_id: str, intent: str | None = None
    ) -> Message:
        return await sync_to_async(services.handle_incoming_text)(
            account=account, text=text, client_id=client_id, intent=intent
        )

    async def ask_artisan(
        self, account: TelegramAccount, product_id: int, client_id: str
    ) -> Message:
        return await sync_to_async(services.ask_artisan_about_product)(
            account=account, product_id=product_id, client_id=client_id
        )

    async def search_products(self, account: TelegramAccount, query: str) -> list[Message]:
        return await sync_to_async(services.search_products)(account=account, query=query)

    async def switch_conversation(self, account: TelegramAccount, conversation_id: int) -> Any:
        return await sync_to_async(services.switch_conversation)(
            account=account, conversation_id=conversation_id
        )

    async def switch_to_shop_bot(self, account: TelegramAccount) -> Any:
        return await sync_to_async(services.open_shop_bot_conversation)(account=account)

    async def buy_product(self, account: TelegramAccount, product_id: int) -> PurchaseOutcome:
        return await sync_to_async(services.buy_product)(account=account, product_id=product_id)

    async def invoice_for_order(self, account: TelegramAccount, reference: str) -> InvoiceSpec:
        return await sync_to_async(services.invoice_for_order)(account=account, reference=reference)

    async def check_pre_checkout(
        self, *, telegram_user_id: int, invoice_payload: str, currency: str, total_amount: int
    ) -> str | None:
        return await sync_to_async(services.check_pre_checkout)(
            telegram_user_id=telegram_user_id,
            invoice_payload=invoice_payload,
            currency=currency,
            total_amount=total_amount,
        )

    async def record_payment(self, **fields: Any) -> str:
        return await sync_to_async(services.record_telegram_payment)(**fields)

    async def link_account(self, code: str, identity: TelegramIdentity) -> TelegramAccount:
        return await sync_to_async(services.link_account)(code=code, identity=identity)

    async def set_campaign_consent(self, account: TelegramAccount, granted: bool) -> None:
        await sync_to_async(services.set_campaign_consent)(account=account, granted=granted)

    async def opt_out_of_campaign(self, account: TelegramAccount, recipient_id: int) -> None:
        await sync_to_async(services.opt_out_of_campaign)(
            account=account, recipient_id=recipient_id
        )

    async def reply_to_campaign(self, account: TelegramAccount, recipient_id: int) -> Any:
        return await sync_to_async(services.reply_to_campaign_from_telegram)(
            account=account, recipient_id=recipient_id
        )

    async def rate_order(self, account: TelegramAccount, reference: str, score: int) -> int:
        return await sync_to_async(services.rate_order_from_telegram)(
            account=account, reference=reference, score=score
        )
