"""Campaigns on Telegram: the channel commerce's campaign delivery sends through.

A batch of recipients is queued on the outbox at once (its shared limits keep the bot
within 30 msg/s and 1/s per chat across processes) and awaited together. A 403 (the
person blocked the bot) withdraws their Telegram marketing consent and marks the account
unreachable, so no later campaign tries again. The "Unsubscribe" button does the same in
one tap (``bots.routers.campaigns``).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FutureTimeout

from aiogram.utils.keyboard import InlineKeyboardBuilder
from django.conf import settings
from django.db import close_old_connections
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from bots.models import TelegramAccount
from bots.telegram.keyboards import CampaignOptOut, CampaignReply
from bots.telegram.outbox import DeliveryReport, DeliveryStatus, OutboundPhoto, OutboundText
from bots.telegram.text import CAPTION_LIMIT, MESSAGE_LIMIT, split_text, telegram_length
from commerce.campaign_channels import Outcome, Record, Renew
from commerce.campaign_delivery import CampaignView, reader_language, render_campaign
from commerce.models import CampaignRecipient
from core.models import User

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
            text=_("Reply to %(shop)s") % {"shop": view.shop_name},
            callback_data=CampaignReply(recipient_id=recipient.pk).pack(),
        )
        builder.button(
            text=view.unsubscribe_label,
            callback_data=CampaignOptOut(recipient_id=recipient.pk).pack(),
        )
        builder.adjust(1)
    # A campaign is one message: at most 2,000 characters of body fit in Telegram's 4,096.
    text = campaign_text(view)
    markup = builder.as_markup()
    paid = settings.TELEGRAM_PAID_BROADCAST
    if view.image_url and telegram_length(text) <= CAPTION_LIMIT:
        return OutboundPhoto(
            chat_id=account.chat_id,
            photo_url=view.image_url,
            caption=text,
            reply_markup=markup,
            paid_broadcast=paid,
        )
    # With a picture but too long for a caption: the picture is the text's large preview.
    return OutboundText(
        chat_id=account.chat_id,
        text=split_text(text, limit=MESSAGE_LIMIT)[0],
        reply_markup=markup,
        paid_broadcast=paid,
        preview_image_url=view.image_url,
    )


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


# Rows still in flight when a batch stops waiting are watched here, off the sender's loop.
_late_recorder = ThreadPoolExecutor(max_workers=4, thread_name_prefix="campaign-telegram")


def _settle(recipient: CampaignRecipient, future: Future, record: Record) -> None:
    try:
        outcome = _outcome(future.result()[0])
    except Exception as error:  # noqa: BLE001 - the outbox refused: try again later
        outcome = Outcome(sent=False, reason=type(error).__name__)
    _mark_blocked(recipient, outcome)
    record(recipient, outcome)


def _wait(
    pending: dict[Future, CampaignRecipient], record: Record, renew: Renew, deadline: float | None
) -> None:
    """Write each answer as it arrives; every third of a lease, renew the claim on the rest."""
    interval = max(1.0, settings.CAMPAIGN_DELIVERY_LEASE_SECONDS / 3)
    while pending:
        timeout = interval if deadline is None else min(interval, deadline - time.monotonic())
        if timeout <= 0:
            return
        try:
            for future in as_completed(list(pending), timeout=timeout):
                _settle(pending.pop(future), future, record)
        except FutureTimeout:
            pass
        if pending:
            renew(list(pending.values()))


def _wait_late(pending: dict[Future, CampaignRecipient], record: Record, renew: Renew) -> None:
    close_old_connections()
    try:
        _wait(pending, record, renew, deadline=None)
    except Exception:
        logger.exception("campaign: late Telegram answers not written (%s rows)", len(pending))
    finally:
        close_old_connections()


def send_batch(recipients: list[CampaignRecipient], record: Record, renew: Renew) -> None:
    """Queue every row on the outbox at once, then write each answer as it arrives."""
    from bots.sender import get_sender

    accounts = {
        account.user_id: account
        for account in TelegramAccount.objects.filter(user_id__in=[r.user_id for r in recipients])
    }
    sender = get_sender()
    pending: dict[Future, CampaignRecipient] = {}
    for recipient in recipients:
        account = accounts.get(recipient.user_id)
        if account is None:
            record(recipient, Outcome(sent=False, permanent=True, reason="no_account"))
            continue
        try:
            pending[sender.submit([_request(recipient, account)])] = recipient
        except Exception as error:  # noqa: BLE001 - refused before queueing: nothing was sent
            record(recipient, Outcome(sent=False, reason=type(error).__name__))
    _wait(
        pending, record, renew, deadline=time.monotonic() + settings.CAMPAIGN_TELEGRAM_WAIT_SECONDS
    )
    if pending:
        # Still queued behind a flood wait: the claim keeps these rows (renewed while they
        # wait); each is written when Telegram answers.
        _late_recorder.submit(_wait_late, pending, record, renew)


def send_one(recipient: CampaignRecipient) -> Outcome:
    answers: list[Outcome] = []
    send_batch([recipient], lambda _recipient, outcome: answers.append(outcome), lambda _r: None)
    return answers[0] if answers else Outcome(sent=False, reason="in_flight")
