"""Campaigns on Telegram, through the real client and outbox against the Bot API stand-in:
once per person in a 429 storm, a 403 withdraws the consent and marks the account, and the
message's "Unsubscribe" button withdraws it in one tap."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from bots.models import TelegramAccount
from commerce.models import CampaignRecipient
from commerce.services import marketing
from commerce.services.marketing import CampaignInput
from core.models import Consent
from core.services import has_consent, record_consent
from tests.bots.support import feed, keyboard, make_product, make_shop, texts
from tests.conftest import make_user
from tests.standins.telegram_server import TelegramBotApiStandIn, callback_query_update

pytestmark = pytest.mark.django_db(transaction=True)

CHATS = (7101, 7102, 7103, 7104)
BODY = "Winter scarves are on the loom."


def _followers(shop, *, language: str = "en") -> list:
    people = []
    for chat_id in CHATS:
        person = make_user(f"tg{chat_id}@example.com", preferred_language=language)
        # Linked web accounts: their language is the profile's, not the Telegram client's.
        TelegramAccount.objects.create(
            user=person, telegram_user_id=chat_id, chat_id=chat_id, is_guest=False
        )
        marketing.follow_shop(user=person, shop=shop)
        record_consent(user=person, purpose=Consent.Purpose.MARKETING_TELEGRAM, granted=True)
        people.append(person)
    return people


def _send(artisan, product=None, *, body: str = BODY, **fields) -> int:
    campaign = marketing.save_campaign(
        artisan=artisan,
        data=CampaignInput(
            title="Winter",
            body=body,
            segment="followers",
            channels=("telegram",),
            product_id=product.pk if product is not None else None,
            **fields,
        ),
    )
    marketing.send_campaign_now(campaign=campaign, artisan=artisan)
    return campaign.pk


def test_each_follower_gets_it_once_in_a_429_storm_and_a_block_unsubscribes(
    telegram_sender, telegram_standin: TelegramBotApiStandIn, artisan
):
    shop = make_shop(artisan)
    product = make_product(artisan, with_photo=False)
    people = _followers(shop)
    telegram_standin.block_chat(CHATS[0])
    telegram_standin.storm(1.5, retry_after=1)

    campaign_id = _send(artisan, product)

    for chat_id in CHATS[1:]:
        sent = [t for t in texts(telegram_standin, chat_id) if BODY in t]
        assert len(sent) == 1, (chat_id, texts(telegram_standin, chat_id))
        message = telegram_standin.sent_messages(chat_id)[-1]
        buttons = [button for row in keyboard(message) for button in row]
        assert buttons[0]["text"] == "See the piece" and "/news/go/" in buttons[0]["url"]
        assert buttons[1]["text"] == f"Reply to {shop.shop_name}"
        assert buttons[1]["callback_data"].startswith("newsr:")
        assert buttons[2]["text"] == "Unsubscribe from these messages"
        assert buttons[2]["callback_data"].startswith("news:")
    counts = marketing.delivery_counts(campaign_id)
    assert counts["sent"] == 3 and counts["failed"] == 1
    blocked = CampaignRecipient.objects.get(user=people[0])
    assert blocked.reason == "blocked"
    assert not has_consent(user=people[0], purpose=Consent.Purpose.MARKETING_TELEGRAM)
    assert TelegramAccount.objects.get(chat_id=CHATS[0]).unreachable_since is not None


async def test_the_unsubscribe_button_withdraws_telegram_news_in_one_tap(
    telegram_sender, telegram_standin: TelegramBotApiStandIn, dispatcher, telegram_bot, artisan
):
    shop = await sync_to_async(make_shop)(artisan)
    product = await sync_to_async(make_product)(artisan, with_photo=False)
    people = await sync_to_async(_followers)(shop, language="fr")
    await sync_to_async(_send)(artisan, product)
    message = telegram_standin.sent_messages(CHATS[1])[-1]
    buttons = [button for row in keyboard(message) for button in row]
    assert buttons[2]["text"] == "Se désabonner de ces messages"

    await feed(
        dispatcher,
        telegram_bot,
        callback_query_update(chat_id=CHATS[1], data=buttons[2]["callback_data"]),
    )

    assert not await sync_to_async(has_consent)(
        user=people[1], purpose=Consent.Purpose.MARKETING_TELEGRAM
    )
    assert await sync_to_async(has_consent)(
        user=people[2], purpose=Consent.Purpose.MARKETING_TELEGRAM
    )
    assert any("désabonné" in text for text in texts(telegram_standin, CHATS[1])), texts(
        telegram_standin, CHATS[1]
    )


async def test_reply_opens_the_thread_with_the_news_as_context_and_the_next_text_goes_there(
    telegram_sender, telegram_standin: TelegramBotApiStandIn, dispatcher, telegram_bot, artisan
):
    from tests.standins.telegram_server import message_update

    shop = await sync_to_async(make_shop)(artisan)
    product = await sync_to_async(make_product)(artisan, with_photo=False)
    people = await sync_to_async(_followers)(shop, language="fr")
    campaign_id = await sync_to_async(_send)(artisan, product)
    message = telegram_standin.sent_messages(CHATS[1])[-1]
    reply = [button for row in keyboard(message) for button in row][1]
    assert reply["text"] == f"Répondre à {shop.shop_name}"

    # When Léa taps "Reply" and writes
    await feed(
        dispatcher,
        telegram_bot,
        callback_query_update(chat_id=CHATS[1], data=reply["callback_data"]),
    )
    await feed(
        dispatcher, telegram_bot, message_update(chat_id=CHATS[1], text="Des écharpes bleues ?")
    )

    # Then her thread with the shop has the news as its context and her message after it
    def thread():
        from conversations.models import Conversation

        conversation = Conversation.objects.get(buyer=people[1], artisan=artisan)
        return [
            ((m.payload or {}).get("type") or m.kind, m.text)
            for m in conversation.messages.order_by("seq")
        ]

    messages = await sync_to_async(thread)()
    from commerce.services.context import CONTEXT_CARD

    kinds = [kind for kind, _text in messages]
    written = [text for _kind, text in messages]
    assert CONTEXT_CARD in kinds and "Des écharpes bleues ?" in written
    assert kinds.index(CONTEXT_CARD) < written.index("Des écharpes bleues ?")
    assert any("Écris ton message" in text for text in texts(telegram_standin, CHATS[1]))

    def replied() -> int:
        return CampaignRecipient.objects.filter(
            campaign_id=campaign_id, replied_at__isnull=False
        ).count()

    assert await sync_to_async(replied)() == 1

    # A forged id (somebody else's message) is refused politely and changes nothing
    other = await sync_to_async(CampaignRecipient.objects.get)(user=people[2])
    await feed(
        dispatcher,
        telegram_bot,
        callback_query_update(chat_id=CHATS[1], data=f"newsr:{other.pk}"),
    )
    assert await sync_to_async(replied)() == 1
    answers = telegram_standin.calls_to("answerCallbackQuery")
    assert answers[-1].params.get("text") == "Cette nouvelle n’est plus disponible."


def test_paid_broadcast_mode_sends_campaigns_past_the_free_limit_and_nothing_else_pays(
    telegram_sender, telegram_standin: TelegramBotApiStandIn, artisan, settings
):
    from tests.standins.telegram_server import StandInLimits, WindowLimit

    # Telegram's free broadcast limit, made tight: one message a second for the whole bot
    telegram_standin.set_rate_limits(
        enforce=True, limits=StandInLimits(overall=WindowLimit(1, 1.0))
    )
    settings.TELEGRAM_PAID_BROADCAST = True
    shop = make_shop(artisan)
    product = make_product(artisan, with_photo=False)
    _followers(shop)

    campaign_id = _send(artisan, product)

    sends = telegram_standin.calls_to("sendMessage")
    campaign_sends = [c for c in sends if BODY in (c.params.get("text") or "")]
    assert len(campaign_sends) == len(CHATS)
    assert all(c.params.get("allow_paid_broadcast") is True for c in campaign_sends)
    assert all(c.status == 200 for c in sends)  # not one 429: the paid window is wide
    assert telegram_standin.paid_broadcasts == len(CHATS)
    assert marketing.delivery_counts(campaign_id)["sent"] == len(CHATS)

    # An ordinary bot message never asks to pay
    from bots.sender import get_sender
    from bots.telegram.outbox import OutboundText

    get_sender().submit([OutboundText(chat_id=CHATS[0], text="Your order shipped")]).result(10)
    last = telegram_standin.calls_to("sendMessage")[-1]
    assert last.params.get("text") == "Your order shipped"
    assert "allow_paid_broadcast" not in last.params
    assert telegram_standin.paid_broadcasts == len(CHATS)


def _send_with_picture(artisan, body: str) -> int:
    from tests.commerce.conftest import png_upload

    return _send(
        artisan, body=body, image=png_upload("scarves.png"), image_alt="Scarves on the loom"
    )


def test_a_picture_goes_as_a_photo_with_the_text_as_its_caption(
    telegram_sender, telegram_standin: TelegramBotApiStandIn, artisan, settings
):
    shop = make_shop(artisan)
    _followers(shop)

    campaign_id = _send_with_picture(artisan, BODY)

    image_url = settings.SITE_URL + CampaignRecipient.objects.first().campaign.image.url
    for chat_id in CHATS:
        [message] = telegram_standin.sent_messages(chat_id)
        assert "photo" in message and BODY in message["caption"]
        buttons = [button for row in keyboard(message) for button in row]
        assert [b["text"] for b in buttons][1:] == [
            f"Reply to {shop.shop_name}",
            "Unsubscribe from these messages",
        ]
    photos = telegram_standin.calls_to("sendPhoto")
    assert len(photos) == len(CHATS)
    assert {call.params["photo"] for call in photos} == {image_url}
    assert marketing.delivery_counts(campaign_id)["sent"] == len(CHATS)


def test_a_text_too_long_for_a_caption_carries_the_picture_as_its_preview(
    telegram_sender, telegram_standin: TelegramBotApiStandIn, artisan, settings
):
    shop = make_shop(artisan)
    _followers(shop)
    long_body = ("Every scarf is woven by hand on a wooden loom. " * 30).strip()  # ~1,400

    _send_with_picture(artisan, long_body)

    image_url = settings.SITE_URL + CampaignRecipient.objects.first().campaign.image.url
    assert telegram_standin.calls_to("sendPhoto") == []
    for chat_id in CHATS:
        [message] = telegram_standin.sent_messages(chat_id)
        assert long_body in message["text"]  # whole: one message, nothing cut
        preview = message["link_preview_options"]
        assert preview["url"] == image_url
        assert preview["prefer_large_media"] is True and preview["show_above_text"] is True
