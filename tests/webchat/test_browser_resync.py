"""Real Chromium: a live event lost by the server is fetched by the client, and shown once.

The server drops one ``message.new`` fan-out (as a Redis restart or a full channels-redis
queue would). The buyer's page then learns of the gap either from the next message (its seq
is more than one past the last seq held) or from the server's ``resync`` hint, subscribes
again with ``after_seq`` and shows the missing message, in order, exactly once.
"""

from __future__ import annotations

import json
import re
import threading

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from conversations import events
from conversations.services import start_conversation
from tests.webchat.browser import signed_in_context
from tests.webchat.conftest import say

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT = 10_000
LOST = "This one is lost on the way"
SUBSCRIBED_JS = "() => window.atelierChat && window.atelierChat.controller.subscribed"


def drop_fan_out_of(monkeypatch, text: str, *, then_resync: bool) -> list[int]:
    """Lose the live ``message.new`` of the message with ``text``; returns the seqs dropped."""
    real = events.send_event_now
    dropped: list[int] = []

    def lossy(group, event_type, payload, **options):
        message = payload.get("message") or {}
        if event_type == "message.new" and message.get("text") == text:
            dropped.append(message["seq"])
            if then_resync:  # what the channel layer does after re-subscribing to Redis
                async_to_sync(get_channel_layer().group_send)(group, {"type": "hub.resync"})
            return
        real(group, event_type, payload, **options)

    monkeypatch.setattr(events, "send_event_now", lossy)
    return dropped


def open_both(browser, server, buyer, artisan, conversation):
    buyer_ctx = signed_in_context(browser, buyer, server)
    artisan_ctx = signed_in_context(browser, artisan, server)
    page = buyer_ctx.new_page()
    subscribes: list[dict] = []

    def watch(ws):
        def on_sent(payload):
            frame = json.loads(payload)
            if frame.get("type") == "subscribe":
                subscribes.append(frame)

        ws.on("framesent", on_sent)

    page.on("websocket", watch)
    page.goto(f"/messages/{conversation.pk}/")
    page.wait_for_function(SUBSCRIBED_JS, timeout=TIMEOUT)
    inbox = artisan_ctx.new_page()
    inbox.goto(f"/inbox/{conversation.pk}/")
    inbox.wait_for_function(SUBSCRIBED_JS, timeout=TIMEOUT)
    return buyer_ctx, artisan_ctx, page, inbox, subscribes


def artisan_writes(inbox, text: str) -> None:
    from playwright.sync_api import expect

    composer = inbox.get_by_label("Message Bea Buyer")
    composer.fill(text)
    composer.press("Enter")
    # The server has accepted it once the status leaves "sending"; it may go
    # straight on to "read" when the buyer's page is quick to mark it.
    expect(inbox.locator(".msg-out .msg-status").last).to_have_attribute(
        "data-state", re.compile(r"^(sent|read)$"), timeout=TIMEOUT
    )


def assert_shown_once_in_order(page, texts: list[str]) -> None:
    shown = page.locator("[data-chat-log] .msg-text").all_inner_texts()
    assert shown == texts
    seqs = page.eval_on_selector_all(
        "[data-chat-log] > li", "els => els.map(e => Number(e.dataset.seq))"
    )
    assert seqs == list(range(1, len(texts) + 1))


def test_a_seq_gap_makes_the_client_fetch_the_missing_message(
    browser, server, buyer, artisan, monkeypatch
):
    from playwright.sync_api import expect

    conversation = start_conversation(buyer=buyer, artisan=artisan, subject="Vase")
    say(conversation, buyer, "Hello")
    dropped = drop_fan_out_of(monkeypatch, LOST, then_resync=False)
    buyer_ctx, artisan_ctx, page, inbox, subscribes = open_both(
        browser, server, buyer, artisan, conversation
    )
    try:
        assert subscribes == [
            {
                "type": "subscribe",
                "conversation": conversation.pk,
                "after_seq": 1,
                "after_update_seq": 0,
            }
        ]
        # Given the artisan's message never reached the buyer's page live
        artisan_writes(inbox, LOST)
        assert dropped == [2]
        assert LOST not in page.locator("[data-chat-log]").inner_text()

        # When the next one arrives with seq 3
        artisan_writes(inbox, "And this one arrives")

        # Then the page resumes from seq 1 and shows the lost one, in order, once
        expect(page.locator("[data-chat-log]")).to_contain_text(LOST, timeout=TIMEOUT)
        page.wait_for_function(SUBSCRIBED_JS, timeout=TIMEOUT)
        assert_shown_once_in_order(page, ["Hello", LOST, "And this one arrives"])
        assert subscribes[1:] == [
            {
                "type": "subscribe",
                "conversation": conversation.pk,
                "after_seq": 1,
                "after_update_seq": 0,
            }
        ]
    finally:
        buyer_ctx.close()
        artisan_ctx.close()


def test_the_servers_resync_hint_makes_the_client_fetch_what_it_missed(
    browser, server, buyer, artisan, monkeypatch
):
    from playwright.sync_api import expect

    conversation = start_conversation(buyer=buyer, artisan=artisan, subject="Vase")
    say(conversation, buyer, "Hello")
    dropped = drop_fan_out_of(monkeypatch, LOST, then_resync=True)
    buyer_ctx, artisan_ctx, page, inbox, subscribes = open_both(
        browser, server, buyer, artisan, conversation
    )
    try:
        # When the artisan's message is lost and the server then says "resync"
        artisan_writes(inbox, LOST)
        assert dropped == [2]

        # Then, with no further message, the page fetches it and shows it once
        expect(page.locator("[data-chat-log]")).to_contain_text(LOST, timeout=TIMEOUT)
        page.wait_for_function(SUBSCRIBED_JS, timeout=TIMEOUT)
        assert_shown_once_in_order(page, ["Hello", LOST])
        assert subscribes[-1] == {
            "type": "subscribe",
            "conversation": conversation.pk,
            "after_seq": 1,
            "after_update_seq": 0,
        }
        assert len(subscribes) == 2
    finally:
        buyer_ctx.close()
        artisan_ctx.close()


def test_a_change_lost_live_is_replayed_when_the_client_resumes(
    browser, server, buyer, artisan, monkeypatch
):
    """An edit's live ``message.updated`` is lost; the resume after the server's ``resync``
    asks for the changes since its last catch-up (``after_update_seq``) and redraws it."""
    from playwright.sync_api import expect

    from conversations.models import Message
    from conversations.services import edit_message

    conversation = start_conversation(buyer=buyer, artisan=artisan, subject="Vase")
    say(conversation, artisan, "The vase ships Monday")
    real = events.send_event_now
    dropped: list[int] = []

    def lossy(group, event_type, payload, **options):
        if event_type == "message.updated":
            dropped.append(payload["message"]["seq"])
            return
        real(group, event_type, payload, **options)

    buyer_ctx, artisan_ctx, page, _inbox, subscribes = open_both(
        browser, server, buyer, artisan, conversation
    )
    try:
        log = page.locator("[data-chat-log]")
        expect(log).to_contain_text("The vase ships Monday", timeout=TIMEOUT)
        monkeypatch.setattr(events, "send_event_now", lossy)
        edit_message(
            message=Message.objects.get(conversation=conversation, seq=1),
            editor=artisan,
            text="The vase ships Tuesday",
        )
        assert dropped == [1]
        expect(log).to_contain_text("Monday")  # nothing reached the page live

        # What the channel layer does after re-subscribing to Redis (off this thread, whose
        # event loop is Playwright's)
        resync = threading.Thread(
            target=async_to_sync(get_channel_layer().group_send),
            args=(events.conversation_group(conversation.pk), {"type": "hub.resync"}),
        )
        resync.start()
        resync.join(5)

        expect(log).to_contain_text("The vase ships Tuesday", timeout=TIMEOUT)
        expect(log).not_to_contain_text("Monday")
        assert subscribes[-1]["after_seq"] == 1 and "after_update_seq" in subscribes[-1]
        assert_shown_once_in_order(page, ["The vase ships Tuesday"])
    finally:
        buyer_ctx.close()
        artisan_ctx.close()
