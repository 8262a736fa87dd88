"""Hub → Telegram deliveries through the bridge: exactly once across retries and takeovers,
nothing lost in a flood wait, long texts split rather than cut (real aiogram, stand-in)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiogram import Bot
from django.utils import timezone

from bots.bridge import DeliveryInProgress, deliver_message
from bots.models import DeliveryState, TelegramAccount, TelegramDelivery
from bots.telegram.text import MESSAGE_LIMIT, telegram_length
from conversations.models import Conversation, FollowUpEntry
from conversations.outbox import run_entry
from conversations.services import post_message
from tests.bots.support import ask_artisan, db_call, make_product, make_shop, texts
from tests.conftest import message_with_text
from tests.standins.telegram_server import TelegramBotApiStandIn

pytestmark = pytest.mark.django_db(transaction=True)
BUYER = 6260


@pytest.fixture
def product(artisan):
    make_shop(artisan)
    return make_product(artisan)


async def _conversation(dispatcher, bot: Bot, product) -> Conversation:
    return await ask_artisan(dispatcher, bot, product, chat_id=BUYER)


async def _eventually(check, seconds: float = 20.0) -> None:
    for _ in range(int(seconds * 20)):
        if await db_call(check)():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")


async def test_a_flood_wait_longer_than_the_callers_wait_sends_once(
    dispatcher, telegram_bot, telegram_standin: TelegramBotApiStandIn, artisan, product, settings
) -> None:
    # Given a caller that waits 0.3 s for Telegram, and Telegram asking twice to wait 3 s
    settings.TELEGRAM_DELIVERY_WAIT_SECONDS = 0.3
    settings.TELEGRAM_DELIVERY_LEASE_SECONDS = 2.0
    conversation = await _conversation(dispatcher, telegram_bot, product)
    telegram_standin.force_retry_after(2, retry_after=3)

    # When the artisan writes, and the follow-up is run again and again meanwhile, also
    # after the first lease would have run out (the holder renews it while it waits)
    await db_call(post_message)(conversation=conversation, author=artisan, text="Bowl ready")
    message = await db_call(message_with_text)("Bowl ready")
    entry = await db_call(FollowUpEntry.objects.get)(message=message, name="telegram_delivery")
    assert await db_call(run_entry)(entry.pk) == "pending"
    await asyncio.sleep(2.5)
    with pytest.raises(DeliveryInProgress):
        await db_call(deliver_message)(message.pk)

    # Then, once Telegram lets it through, it was sent exactly once and recorded as sent
    await _eventually(
        lambda: TelegramDelivery.objects.filter(message=message, status="sent").exists()
    )
    assert await db_call(run_entry)(entry.pk) == "done"
    assert texts(telegram_standin, BUYER).count("Ana Artisan: Bowl ready") == 1
    entry = await db_call(FollowUpEntry.objects.get)(pk=entry.pk)
    assert entry.status == "done"


async def test_a_killed_workers_delivery_is_taken_over_and_only_the_missing_part_sent(
    dispatcher, telegram_bot, telegram_standin: TelegramBotApiStandIn, artisan, product, settings
) -> None:
    conversation = await _conversation(dispatcher, telegram_bot, product)
    settings.MESSAGE_MAX_CHARS = 6000
    settings.TELEGRAM_BOT_TOKEN = ""  # the first worker: its delivery is ours to stage
    text = ("Glaze notes. " * 400).strip()  # 5,199 characters: two Telegram messages
    await db_call(post_message)(conversation=conversation, author=artisan, text=text)
    settings.TELEGRAM_BOT_TOKEN = telegram_standin.token
    message = await db_call(message_with_text)(text)
    account = await db_call(TelegramAccount.objects.get)(telegram_user_id=BUYER)
    # Given the state a worker killed after Telegram took part 1 leaves behind
    staged = dict(
        message=message,
        account=account,
        status=DeliveryState.SENDING,
        claim_token="dead-worker",
        telegram_message_ids=[555, None],
        attempts=1,
    )
    await db_call(TelegramDelivery.objects.update_or_create)(
        message=message, defaults={**staged, "lease_until": timezone.now() + timedelta(60)}
    )
    before = len(texts(telegram_standin, BUYER))

    # While its lease runs, nobody else may send it
    with pytest.raises(DeliveryInProgress):
        await db_call(deliver_message)(message.pk)
    # When the lease has run out, the next attempt takes it over
    await db_call(TelegramDelivery.objects.filter(message=message).update)(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    outcome = await db_call(deliver_message)(message.pk)

    # Then only the second part went out, and the row holds both parts' ids
    assert outcome.status == "sent"
    sent = texts(telegram_standin, BUYER)[before:]
    assert len(sent) == 1
    assert sent[0].endswith("Glaze notes.")
    delivery = await db_call(TelegramDelivery.objects.get)(message=message)
    assert delivery.telegram_message_ids[0] == 555
    assert isinstance(delivery.telegram_message_ids[1], int)
    assert delivery.attempts == 2
    assert (await db_call(deliver_message)(message.pk)).status == "already_delivered"


async def test_a_long_message_reaches_telegram_whole_and_in_order(
    dispatcher, telegram_bot, telegram_standin: TelegramBotApiStandIn, artisan, product, settings
) -> None:
    conversation = await _conversation(dispatcher, telegram_bot, product)
    settings.MESSAGE_MAX_CHARS = 10000
    text = "\n\n".join(f"Step {n}: " + "🧶 knit one, purl one. " * 30 for n in range(14))
    before = len(texts(telegram_standin, BUYER))

    await db_call(post_message)(conversation=conversation, author=artisan, text=text)

    parts = texts(telegram_standin, BUYER)[before:]
    assert len(parts) >= 3
    assert all(telegram_length(part) <= MESSAGE_LIMIT for part in parts)
    assert " ".join(parts).split() == f"Ana Artisan: {text}".split()


async def test_the_hubs_longest_message_is_not_cut_by_the_authors_name(
    dispatcher, telegram_bot, telegram_standin: TelegramBotApiStandIn, artisan, product, settings
) -> None:
    # The hub takes MESSAGE_MAX_CHARS (4,000); with "Ana Artisan: " in front it used to
    # be clipped to 4,000 with an ellipsis.
    conversation = await _conversation(dispatcher, telegram_bot, product)
    text = "x" * (settings.MESSAGE_MAX_CHARS - 1) + "!"

    await db_call(post_message)(conversation=conversation, author=artisan, text=text)

    assert texts(telegram_standin, BUYER)[-1] == f"Ana Artisan: {text}"


async def test_a_sustained_429_storm_loses_no_message_and_sends_none_twice(
    dispatcher, telegram_bot, telegram_standin: TelegramBotApiStandIn, artisan, product
) -> None:
    conversation = await _conversation(dispatcher, telegram_bot, product)
    telegram_standin.storm(3.0, retry_after=1)

    ids = []
    for n in range(4):
        posted = await db_call(post_message)(
            conversation=conversation, author=artisan, text=f"n{n}"
        )
        ids.append(posted.message.pk)

    await _eventually(
        lambda: TelegramDelivery.objects.filter(message_id__in=ids, status="sent").count() == 4
    )
    delivered = [t for t in texts(telegram_standin, BUYER) if t.startswith("Ana Artisan: n")]
    assert delivered == [f"Ana Artisan: n{n}" for n in range(4)]
    assert any(call.status == 429 for call in telegram_standin.calls)
