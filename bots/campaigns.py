"""Campaigns on Telegram: the channel commerce's campaign delivery sends through.

A batch of recipients is queued on the outbox at once (its shared limits keep the bot
within 30 msg/s and 1/s per chat across processes) and awaited together. A 403 (the
person blocked the bot) withdraws their Telegram marketing consent and marks the account
unreachable, so no later campaign tries again. The "Unsubscribe" button does the same in
one tap (``bots.routers.campaigns``).
"""

from __future__ import annotations

import logging
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING

from aiogram.utils.keyboard import InlineKeyboardBuilder
from django.conf import settings
from django.db import close_old_connections
from django.db.models import QuerySet
from django.utils import translation

from bots.models import TelegramAccount
from bots.telegram.keyboards import CampaignOptOut
from bots.telegram.outbox import DeliveryReport, DeliveryStatus, OutboundText
from bots.telegram.text import split_text
from commerce.campaign_channels import CampaignChannelSpec, LateAnswer, Outcome
from commerce.campaign_delivery import CampaignView, reader_language, render_campaign
from commerce.models import CampaignChannel, CampaignRecipient
from core.models import Consent, User

if TYPE_CHECKING:
    from concurrent.futures import Future

logger = logging.getLogger(__name__)


def reachable(users: QuerySet[User]) -> QuerySet[User]:
    if not settings.TELEGRAM_BOT_TOKEN:
        return users.none()  # no bot configured: nobody is reachable on Telegram
    return users.filter(
        telegram_account__isnull=False, telegram_account__unreachable_since__isnull=True
    )


def campaign_text(view: CampaignView) -> str:
    lines = [view.subject, "", view.body]
    if view.product_title:
        lines += ["", f"{view.product_title} · {view.product_price}"]
    if view.promo_line:
        lines += ["", view.promo_line]
    return "\n".join(lines)


def _request(recipient: CampaignRecipient, account: TelegramAccount) -> OutboundText:
    user = recipient.user
    view = render_campaign(recipient.campaign, reader=user, recipient=recipient)
    with translation.override(reader_language(user)):
        builder = InlineKeyboardBuilder()
        builder.button(text=view.link_label, url=view.link_url)
        builder.button(
            text=view.unsubscribe_label,
            callback_data=CampaignOptOut(recipient_id=recipient.pk).pack(),
        )
        builder.adjust(1)
    # A campaign is one message: at most 2,000 characters of body fit in Telegram's 4,096.
    text = split_text(campaign_text(view), limit=4096)[0]
    return OutboundText(chat_id=account.chat_id, text=text, reply_markup=builder.as_markup())


def _outcome(report: DeliveryReport) -> Outcome:
    if report.delivered:
        return Outcome(sent=True, external_id=str(report.message_id or ""))
    if report.status in (DeliveryStatus.BLOCKED, DeliveryStatus.CHAT_NOT_FOUND):
        return Outcome(sent=False, permanent=True, unsubscribe=True, reason=report.status.value)
    if report.status is DeliveryStatus.REJECTED:
        return Outcome(sent=False, permanent=True, reason="rejected")
    return Outcome(sent=False, reason=report.status.value)  # gave up / cancelled: later


def _mark_blocked(recipient: CampaignRecipient, outcome: Outcome) -> None:
    if outcome.unsubscribe:
        from bots.services import mark_unreachable

        account = TelegramAccount.objects.filter(user_id=recipient.user_id).first()
        if account is not None:
            mark_unreachable(account_id=account.pk)


def send_batch(recipients: list[CampaignRecipient], late: LateAnswer) -> list[Outcome | None]:
    from bots.sender import get_sender

    accounts = {
        account.user_id: account
        for account in TelegramAccount.objects.filter(user_id__in=[r.user_id for r in recipients])
    }
    sender = get_sender()
    futures: list[tuple[CampaignRecipient, Future | None]] = []
    for recipient in recipients:
        account = accounts.get(recipient.user_id)
        if account is None:
            futures.append((recipient, None))
            continue
        futures.append((recipient, sender.submit([_request(recipient, account)])))
    outcomes: list[Outcome | None] = []
    wait = settings.CAMPAIGN_TELEGRAM_WAIT_SECONDS
    for recipient, future in futures:
        if future is None:
            outcomes.append(Outcome(sent=False, permanent=True, reason="no_account"))
            continue
        try:
            outcome = _outcome(future.result(wait)[0])
        except FutureTimeout:
            # Still queued behind a flood wait: the claim keeps the row; write it on answer.
            future.add_done_callback(_late_writer(recipient, late))
            outcomes.append(None)
            continue
        except Exception as error:  # noqa: BLE001 - the outbox refused: try again later
            outcome = Outcome(sent=False, reason=type(error).__name__)
        _mark_blocked(recipient, outcome)
        outcomes.append(outcome)
    return outcomes


def _late_writer(recipient: CampaignRecipient, late: LateAnswer):
    def write(future: Future) -> None:
        close_old_connections()
        try:
            outcome = _outcome(future.result()[0])
        except Exception as error:  # noqa: BLE001
            outcome = Outcome(sent=False, reason=type(error).__name__)
        try:
            _mark_blocked(recipient, outcome)
            late(recipient, outcome)
        except Exception:
            logger.exception("campaign: late Telegram answer for row %s not written", recipient.pk)
        finally:
            close_old_connections()

    return write


def send_one(recipient: CampaignRecipient) -> Outcome:
    outcome = send_batch([recipient], lambda _r, _o: None)[0]
    return outcome or Outcome(sent=False, reason="in_flight")


def register() -> None:
    from commerce.campaign_channels import register_campaign_channel

    register_campaign_channel(
        CampaignChannelSpec(
            name=CampaignChannel.TELEGRAM,
            consent_purpose=Consent.Purpose.MARKETING_TELEGRAM,
            send=send_one,
            reachable=reachable,
            batch=send_batch,
        )
    )
